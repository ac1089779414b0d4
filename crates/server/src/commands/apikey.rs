//! `confab apikey create [--name N]`: a new API key for the default workspace. The key is shown
//! once, as the last line of standard output; only its hash is stored.

use crate::config::Settings;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use confab_domain::ApiKeySecret;

pub async fn create(settings: Settings, name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("--name must be 1 to 100 characters");
    }
    let store = super::open_store(&settings).await?;
    let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?;
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let secret = ApiKeySecret::from_random(random);
    let key = store.create_api_key(workspace.id, name, &secret).await?;
    eprintln!(
        "created API key \"{}\" ({}…) for workspace \"{}\"; it is shown once, store it now:",
        key.name, key.display_prefix, workspace.name
    );
    println!("{}", secret.secret.expose());
    Ok(())
}
