-- A saved template's SID in Twilio's Content API, so Twilio numbers can send it too.
ALTER TABLE templates ADD COLUMN twilio_content_sid TEXT;
