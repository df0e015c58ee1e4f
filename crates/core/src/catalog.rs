//! What each kind of destination offers, known without an account: the desktop's account
//! form and "add account" screen show a kind's optional features (remote library, delete,
//! URL import…) before any account of that kind exists.
//!
//! The providers own their features (`Provider::features`); this table repeats them per
//! kind for hosts, and its test builds every provider to prove the two never drift.
//! Nothing here talks to a server or reads a secret.

use crate::providers::{Features, Kind};

impl Kind {
    /// The optional capabilities every provider of this kind reports.
    pub fn features(self) -> Features {
        let none = Features::default();
        match self {
            Kind::Local | Kind::S3 => Features {
                test_credentials: true,
                list_remote: true,
                delete_remote: true,
                ..none
            },
            Kind::Synposter | Kind::Socialsyncer => Features {
                test_credentials: true,
                ..none
            },
            Kind::Postsyncer => Features {
                import_url: true,
                test_credentials: true,
                list_remote: true,
                refresh_status: true,
                delete_remote: true,
                resumable: false,
            },
            Kind::Fastpix => Features {
                import_url: true,
                test_credentials: true,
                list_remote: true,
                refresh_status: true,
                delete_remote: true,
                resumable: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::providers::{self, Kind, Settings};
    use crate::secrets::Secret;

    /// Values that satisfy each kind's required options; building a provider sends nothing.
    fn required_value(name: &str) -> &'static str {
        match name {
            "workspace_id" => "1",
            _ => "x",
        }
    }

    #[test]
    fn kind_features_match_what_each_built_provider_reports() {
        let home = tempfile::tempdir().unwrap();
        for kind in Kind::ALL {
            let given: Vec<(String, String)> = kind
                .options()
                .iter()
                .filter(|o| o.required && !o.secret && o.default.is_none())
                .map(|o| (o.name.to_string(), required_value(o.name).to_string()))
                .collect();
            let options = crate::config::validate_options(kind, &given).unwrap();
            let provider = providers::build(
                kind,
                Settings {
                    account: "probe".into(),
                    options,
                    secret: kind.secret_option().map(|_| Secret::new("probe")),
                    home: home.path().to_path_buf(),
                    net: crate::net::Net::direct(),
                },
            )
            .unwrap_or_else(|e| panic!("{kind}: {}", e.message));
            let (a, b) = (kind.features(), provider.features());
            assert_eq!(
                (
                    a.import_url,
                    a.test_credentials,
                    a.list_remote,
                    a.refresh_status,
                    a.delete_remote,
                    a.resumable
                ),
                (
                    b.import_url,
                    b.test_credentials,
                    b.list_remote,
                    b.refresh_status,
                    b.delete_remote,
                    b.resumable
                ),
                "{kind}: Kind::features() drifted from its provider's features()"
            );
        }
    }
}
