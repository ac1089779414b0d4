//! `confab user add EMAIL --role ROLE [--password P]`: a dashboard user in the default workspace.

use crate::config::Settings;
use crate::passwords;
use anyhow::{bail, Context};
use confab_domain::{Email, UserRole};
use confab_storage::NewUser;
use std::io::{BufRead, IsTerminal};

pub async fn add(settings: Settings, email: &str, role: &str, password: Option<String>) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let role = UserRole::parse(role).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let password = match password {
        Some(p) => p,
        None => read_password()?,
    };
    let password_hash = passwords::hash(&password)?;
    let store = super::open_store(&settings).await?;
    let workspace = store.ensure_default_workspace(&settings.default_workspace_name).await?;
    match store.create_user(NewUser { workspace_id: workspace.id, email: email.clone(), role, password_hash }).await {
        Ok(user) => {
            println!(
                "added {} as {} of workspace \"{}\" (user id {})",
                user.email,
                role.as_str(),
                workspace.name,
                user.id
            );
            Ok(())
        }
        Err(err) if err.is_conflict_on("users_email_key", "users.email") => {
            bail!("a user with the e-mail {email} already exists")
        }
        Err(err) => Err(err.into()),
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let second = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        if first != second {
            bail!("the two passwords differ; run the command again");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
