use super::*;

fn check_err(text: &str, expected: &str) {
    let err = Config::from_toml(text, Path::new("sailkg.toml")).unwrap_err().to_string();
    assert!(err.contains(expected), "error {err:?} does not contain {expected:?}");
}

#[test]
fn defaults_are_safe() {
    let config = Config::default();
    assert!(config.server.bind.ip().is_loopback());
    assert!(!config.server.read_only);
    assert!(config.auth.tokens.is_empty());
    assert!(config.server.cors_origins.is_empty());
    assert_eq!(config.sparql.timeout_secs, 30);
}

#[test]
fn unknown_keys_are_located_errors() {
    check_err("[server]\nbindd = \"127.0.0.1:1\"\n", "bindd");
    check_err("[server]\nbindd = \"127.0.0.1:1\"\n", "line 2");
    check_err("[nope]\n", "nope");
    check_err("[sparql]\ntimeout_secs = \"ten\"\n", "line 2");
}

#[test]
fn values_are_checked() {
    check_err("[sparql]\ntimeout_secs = 0\n", "timeout_secs");
    check_err("[[auth.tokens]]\nname = \"a\"\ntoken = \"short\"\nrole = \"admin\"\n", "shorter");
    check_err("[[auth.tokens]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nrole = \"king\"\n", "king");
}

#[test]
fn the_shipped_config_parses_and_equals_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sailkg.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = Config::from_toml(&text, &path).unwrap();
    let default = Config::default();
    assert_eq!(format!("{config:?}"), format!("{default:?}"));
}

#[test]
fn env_overrides_apply() {
    let mut config = Config::default();
    config
        .apply_env(|var| match var {
            "SAILKG_BIND" => Some("127.0.0.1:9999".into()),
            "SAILKG_READ_ONLY" => Some("true".into()),
            "SAILKG_ADMIN_TOKEN" => Some("0123456789abcdef0123".into()),
            "SAILKG_CORS_ORIGINS" => Some("http://a.example, http://b.example".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(config.server.bind.port(), 9999);
    assert!(config.server.read_only);
    assert_eq!(config.role_of_token("0123456789abcdef0123"), Some(Role::Admin));
    assert_eq!(config.role_of_token("0123456789abcdef0124"), None);
    assert_eq!(config.server.cors_origins.len(), 2);
    let err = Config::default()
        .apply_env(|var| (var == "SAILKG_QUERY_TIMEOUT_SECS").then(|| "soon".into()))
        .unwrap_err();
    assert!(err.to_string().contains("SAILKG_QUERY_TIMEOUT_SECS"));
}
