//! A binary that uses the published crate's client, so that its release build links what
//! an enforcer built on it links. `cargo xtask bench` only builds it and reads `ldd`.

fn main() {
    let url = std::env::args().nth(1).unwrap_or_default();
    let client = airlock_gateway::AirlockGatewayClient::new(url, None::<String>);
    drop(client);
}
