//! The answer to a Twilio webhook: TwiML that tells Twilio to do nothing more.
//!
//! Twilio expects TwiML from the incoming-message webhook (anything else is logged as error
//! 12300 in the Twilio Console). confab never replies inside the webhook — replies are sent
//! later through the Messages API, after the assistant's turn — so the answer is always an
//! empty `<Response/>`. Status callbacks only need a 2xx; the same answer does.

/// An empty TwiML document: acknowledge and do nothing.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The content type Twilio expects TwiML in.
pub const TWIML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
