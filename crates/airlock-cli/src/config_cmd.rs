//! `airlock config set|get|unset KEY`: the settings of `config.json`, pinned explicitly.
//! The workspace in particular follows the current directory until it is pinned here.

use crate::cli::{ConfigCommand, ConfigKey};
use crate::exit::{CliError, Exit};
use crate::state::{Config, StateDir};

/// The stored value of `key`.
fn slot(config: &mut Config, key: ConfigKey) -> &mut Option<String> {
    match key {
        ConfigKey::Gateway => &mut config.gateway_url,
        ConfigKey::ClientId => &mut config.client_id,
        ConfigKey::EnforcerId => &mut config.enforcer_id,
        ConfigKey::Workspace => &mut config.workspace,
    }
}

pub(crate) fn run(command: ConfigCommand) -> Result<Exit, CliError> {
    let state = StateDir::locate()?;
    let mut config = state.config()?;
    match command {
        ConfigCommand::Set { key, value } => {
            if value.trim().is_empty() {
                return Err(CliError::new(
                    Exit::Usage,
                    "the value is empty (`airlock config unset` forgets a setting)",
                ));
            }
            *slot(&mut config, key) = Some(value);
            state.save_config(&config)?;
        }
        ConfigCommand::Get { key } => {
            return Ok(match slot(&mut config, key) {
                Some(value) => {
                    outln!("{value}");
                    Exit::Success
                }
                None => Exit::Rejected,
            });
        }
        ConfigCommand::Unset { key } => {
            if slot(&mut config, key).take().is_some() {
                state.save_config(&config)?;
            }
        }
    }
    Ok(Exit::Success)
}
