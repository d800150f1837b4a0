//! Signing keys: the tenant's `oidc.privateKeys`, their JWKS, and JWT signing.
//!
//! As in Logto, the first key is the current one: it signs, and its algorithm is the only one
//! discovery advertises (EC P-384 → ES384, EC P-256 → ES256, RSA → RS256); every key is
//! published in the JWKS with `kid` = RFC 7638 thumbprint (SHA-256), `use: "sig"` and `alg`.
//! Keys come from committed PEMs: nothing is generated at start-up. Each PEM is parsed once per
//! process (parsing derives the public key, a scalar multiplication) into an aws-lc key pair
//! that every later `MockIdp` and every signature reuses.
//!
//! Signatures: aws-lc randomises ECDSA nonces, so ES384 and ES256 signatures differ from run to
//! run while the header and payload they sign replay byte for byte; RSASSA-PKCS1-v1_5 (RS256) is
//! deterministic, so RS256 tokens replay whole.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::Serialize;
use time::OffsetDateTime;

use crate::tenant::PrivateKey;

/// The algorithms the mock signs with. On the command line (`--signing-alg`) they are named
/// as in JOSE: `ES384`, `ES256`, `RS256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SigningAlg {
    /// ECDSA P-384 with SHA-384: Logto's default.
    #[value(name = "ES384")]
    Es384,
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[value(name = "RS256")]
    Rs256,
}

impl SigningAlg {
    /// The JOSE name (`ES384`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es384 => "ES384",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Es384 => Algorithm::ES384,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// One public key as the JWKS shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PublicJwk {
    kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    kid: String,
    alg: &'static str,
    #[serde(rename = "use")]
    key_use: &'static str,
}

/// A parsed private key, ready to sign many times.
enum KeyPair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// One PEM, parsed: its key pair, algorithm and public JWK (shared by every `MockIdp` of the
/// process that uses the PEM).
struct Loaded {
    pair: KeyPair,
    alg: SigningAlg,
    jwk: PublicJwk,
}

/// A key ready to sign.
struct Signer {
    alg: SigningAlg,
    kid: String,
    key: Arc<Loaded>,
}

/// The tenant's keys: the current signer, the published set, and a verifier per key.
pub(crate) struct Keys {
    current: Signer,
    /// The JWKS's keys, the current one first; a key kept after a rotation carries the instant
    /// it leaves the set.
    published: Vec<(Arc<Loaded>, Option<OffsetDateTime>)>,
    /// The JWKS of every published key (before any leaves).
    jwks: String,
    verifiers: Vec<(String, SigningAlg, jsonwebtoken::DecodingKey)>,
    /// Every `kid` that has signed here, so a rotation never brings one back.
    used: Vec<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("alg", &self.current.alg)
            .field("kid", &self.current.kid)
            .finish_non_exhaustive()
    }
}

/// Why the keys could not be used.
#[derive(Debug)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for std::io::Error {
    fn from(error: KeyError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error.0)
    }
}

/// Keys already parsed in this process, by PEM.
static LOADED: LazyLock<Mutex<HashMap<String, Arc<Loaded>>>> = LazyLock::new(Mutex::default);

impl Keys {
    /// Loads `keys` (first = current). With `prefer`, the first key of that algorithm becomes
    /// the current one instead (the others stay published).
    pub(crate) fn load(keys: &[PrivateKey], prefer: Option<SigningAlg>) -> Result<Self, KeyError> {
        let mut loaded = Vec::new();
        for key in keys {
            let parsed = load_one(&key.value)
                .map_err(|e| KeyError(format!("OIDC private key {:?}: {e}", key.id)))?;
            loaded.push(parsed);
        }
        let index = match prefer {
            None => 0,
            Some(alg) => loaded
                .iter()
                .position(|key| key.alg == alg)
                .ok_or_else(|| KeyError(format!("the tenant has no {} key", alg.as_str())))?,
        };
        if loaded.is_empty() {
            return Err(KeyError("the tenant has no OIDC signing key".into()));
        }
        let mut published: Vec<(Arc<Loaded>, Option<OffsetDateTime>)> = Vec::new();
        for i in std::iter::once(index).chain((0..loaded.len()).filter(|i| *i != index)) {
            if !published
                .iter()
                .any(|(p, _)| p.jwk.kid == loaded[i].jwk.kid)
            {
                published.push((loaded[i].clone(), None));
            }
        }
        let current = loaded.swap_remove(index);
        Self::assemble(current, published, Vec::new())
    }

    /// Keys signing with `current` and publishing `published` (the current key among them).
    fn assemble(
        current: Arc<Loaded>,
        published: Vec<(Arc<Loaded>, Option<OffsetDateTime>)>,
        mut used: Vec<String>,
    ) -> Result<Self, KeyError> {
        let jwks = jwks_of(published.iter().map(|(key, _)| &key.jwk))?;
        let verifiers = published
            .iter()
            .map(|(key, _)| verifier(&key.jwk).map(|v| (key.jwk.kid.clone(), key.alg, v)))
            .collect::<Result<Vec<_>, _>>()?;
        if !used.contains(&current.jwk.kid) {
            used.push(current.jwk.kid.clone());
        }
        Ok(Self {
            current: Signer {
                alg: current.alg,
                kid: current.jwk.kid.clone(),
                key: current,
            },
            published,
            jwks,
            verifiers,
            used,
        })
    }

    /// Logto's rotation (`POST /api/configs/oidc/private-keys/rotate`): `next` becomes the
    /// current key; the current one stays published until `previous_until` (`None`: it leaves
    /// at once, the rotation without a grace period); older keys leave the set, as Logto keeps
    /// only the current and the previous key.
    pub(crate) fn rotate(
        &self,
        next: &PrivateKey,
        previous_until: Option<OffsetDateTime>,
    ) -> Result<Self, KeyError> {
        let loaded = load_one(&next.value)
            .map_err(|e| KeyError(format!("OIDC private key {:?}: {e}", next.id)))?;
        let mut published = vec![(loaded.clone(), None)];
        if let Some(until) = previous_until
            && self.current.kid != loaded.jwk.kid
        {
            published.push((self.current.key.clone(), Some(until)));
        }
        Self::assemble(loaded, published, self.used.clone())
    }

    /// Whether the key of this PEM has signed here before (a rotation must not pick it).
    pub(crate) fn has_used(&self, pem: &str) -> bool {
        load_one(pem).is_ok_and(|key| self.used.contains(&key.jwk.kid))
    }

    /// Whether the key of this PEM is an RSA key (else EC).
    pub(crate) fn is_rsa_pem(pem: &str) -> bool {
        load_one(pem).is_ok_and(|key| key.alg == SigningAlg::Rs256)
    }

    /// Checks a JWT this IdP signed (an `id_token_hint`): known `kid`, its algorithm, a valid
    /// signature and `iss`; expiry is not checked (an expired ID token is a fine hint).
    pub(crate) fn verify_ignoring_expiry(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<serde_json::Value, KeyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| KeyError(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| KeyError("no kid".into()))?;
        let (_, alg, key) = self
            .verifiers
            .iter()
            .find(|(k, _, _)| *k == kid)
            .ok_or_else(|| KeyError("unknown kid".into()))?;
        let mut validation = jsonwebtoken::Validation::new(alg.jwt());
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| KeyError(e.to_string()))
    }

    /// The algorithm the current key signs with.
    pub(crate) fn alg(&self) -> SigningAlg {
        self.current.alg
    }

    /// The current key's `kid`.
    pub(crate) fn kid(&self) -> &str {
        &self.current.kid
    }

    /// The JWKS document at `now`: a key kept after a rotation is gone once its time is up.
    pub(crate) fn jwks(&self, now: OffsetDateTime) -> std::borrow::Cow<'_, str> {
        let live = |until: &Option<OffsetDateTime>| until.is_none_or(|until| now < until);
        if self.published.iter().all(|(_, until)| live(until)) {
            return std::borrow::Cow::Borrowed(&self.jwks);
        }
        let keys = self
            .published
            .iter()
            .filter(|(_, until)| live(until))
            .map(|(key, _)| &key.jwk);
        // Serialising known-good JWKs cannot fail; an empty set would be the safe answer.
        std::borrow::Cow::Owned(jwks_of(keys).unwrap_or_else(|_| r#"{"keys":[]}"#.to_owned()))
    }

    /// Signs `claims` with the current key, as a compact JWS. `typ` is set only when given
    /// (`at+jwt` for access tokens): ID tokens carry exactly `{alg, kid}`, as Logto's.
    pub(crate) fn sign(
        &self,
        claims: &impl Serialize,
        typ: Option<&str>,
    ) -> Result<String, KeyError> {
        // jsonwebtoken's order, which the tokens always had: `typ`, `alg`, `kid`.
        #[derive(Serialize)]
        struct Header<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            typ: Option<&'a str>,
            alg: &'a str,
            kid: &'a str,
        }
        let header = Header {
            alg: self.current.alg.as_str(),
            typ,
            kid: &self.current.kid,
        };
        let header = serde_json::to_vec(&header).map_err(|e| KeyError(e.to_string()))?;
        let claims = serde_json::to_vec(claims).map_err(|e| KeyError(e.to_string()))?;
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims));
        let signature = self.current.key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}

impl Loaded {
    /// The JWS signature of `message` (ECDSA as `r || s`, fixed length).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError("the signature failed".into());
        match &self.pair {
            KeyPair::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(failed),
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

/// `{"keys": [...]}`.
fn jwks_of<'a>(keys: impl Iterator<Item = &'a PublicJwk>) -> Result<String, KeyError> {
    let keys: Vec<&PublicJwk> = keys.collect();
    serde_json::to_string(&serde_json::json!({ "keys": keys })).map_err(|e| KeyError(e.to_string()))
}

fn verifier(jwk: &PublicJwk) -> Result<jsonwebtoken::DecodingKey, KeyError> {
    let built = match (&jwk.x, &jwk.y, &jwk.n, &jwk.e) {
        (Some(x), Some(y), _, _) => jsonwebtoken::DecodingKey::from_ec_components(x, y),
        (_, _, Some(n), Some(e)) => jsonwebtoken::DecodingKey::from_rsa_components(n, e),
        _ => return Err(KeyError("a key without public components".into())),
    };
    built.map_err(|e| KeyError(e.to_string()))
}

/// Parses `pem` (PKCS#8: EC P-384, EC P-256 or RSA), once per process.
fn load_one(pem: &str) -> Result<Arc<Loaded>, String> {
    let cached = LOADED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pem)
        .cloned();
    if let Some(loaded) = cached {
        return Ok(loaded);
    }
    let bytes = pem.as_bytes();
    let (encoding, pair, alg) = match EncodingKey::from_ec_pem(bytes) {
        Ok(key) => {
            let der = key.as_bytes();
            let (pair, alg) = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, der)
                .map(|pair| (pair, SigningAlg::Es384))
                .or_else(|_| {
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map(|pair| (pair, SigningAlg::Es256))
                })
                .map_err(|_| "unsupported EC key (use P-384 or P-256)".to_owned())?;
            (key, KeyPair::Ec(pair), alg)
        }
        Err(_) => {
            let key = EncodingKey::from_rsa_pem(bytes)
                .map_err(|e| format!("neither EC nor RSA PEM: {e}"))?;
            let pair = RsaKeyPair::from_der(key.as_bytes())
                .map_err(|e| format!("unsupported RSA key: {e}"))?;
            (key, KeyPair::Rsa(pair), SigningAlg::Rs256)
        }
    };
    let jwk = Jwk::from_encoding_key(&encoding, alg.jwt()).map_err(|e| format!("JWK: {e}"))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("thumbprint: {e}"))?;
    let public = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => PublicJwk {
            kty: "EC",
            crv: Some(
                serde_json::to_value(&ec.curve)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
            x: Some(ec.x.clone()),
            y: Some(ec.y.clone()),
            n: None,
            e: None,
            kid,
            alg: alg.as_str(),
            key_use: "sig",
        },
        AlgorithmParameters::RSA(rsa) => PublicJwk {
            kty: "RSA",
            crv: None,
            x: None,
            y: None,
            n: Some(rsa.n.clone()),
            e: Some(rsa.e.clone()),
            kid,
            alg: alg.as_str(),
            key_use: "sig",
        },
        _ => return Err("unsupported key type".into()),
    };
    let loaded = Arc::new(Loaded {
        pair,
        alg,
        jwk: public,
    });
    LOADED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pem.to_owned(), loaded.clone());
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::Tenant;
    use sha2::Digest as _;

    fn fixture_keys(prefer: Option<SigningAlg>) -> Keys {
        let tenant = Tenant::fixture().unwrap();
        Keys::load(&tenant.logto_configs.oidc_private_keys, prefer).unwrap()
    }

    #[test]
    fn the_fixture_signs_es384_by_default_and_publishes_both_keys() {
        let keys = fixture_keys(None);
        assert_eq!(keys.alg(), SigningAlg::Es384);
        let jwks: serde_json::Value =
            serde_json::from_str(&keys.jwks(OffsetDateTime::UNIX_EPOCH)).unwrap();
        let published = jwks["keys"].as_array().unwrap();
        assert_eq!(published.len(), 2);
        assert_eq!(published[0]["kty"], "EC");
        assert_eq!(published[0]["crv"], "P-384");
        assert_eq!(published[0]["alg"], "ES384");
        assert_eq!(published[0]["use"], "sig");
        assert_eq!(published[0]["kid"], keys.kid());
        assert_eq!(published[1]["kty"], "RSA");
        assert_eq!(published[1]["alg"], "RS256");
    }

    #[test]
    fn kid_is_the_rfc_7638_thumbprint() {
        let keys = fixture_keys(None);
        let jwks: serde_json::Value =
            serde_json::from_str(&keys.jwks(OffsetDateTime::UNIX_EPOCH)).unwrap();
        let ec = &jwks["keys"][0];
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            ec["crv"].as_str().unwrap(),
            ec["x"].as_str().unwrap(),
            ec["y"].as_str().unwrap()
        );
        let digest = sha2::Sha256::digest(canonical.as_bytes());
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        assert_eq!(ec["kid"], expected);
    }

    #[test]
    fn rs256_can_be_preferred() {
        let keys = fixture_keys(Some(SigningAlg::Rs256));
        assert_eq!(keys.alg(), SigningAlg::Rs256);
        let jwks: serde_json::Value =
            serde_json::from_str(&keys.jwks(OffsetDateTime::UNIX_EPOCH)).unwrap();
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        let tenant = Tenant::fixture().unwrap();
        assert!(
            Keys::load(
                &tenant.logto_configs.oidc_private_keys,
                Some(SigningAlg::Es256)
            )
            .is_err()
        );
    }

    #[test]
    fn id_token_headers_are_exactly_alg_and_kid_and_only_rs256_signatures_replay() {
        let keys = fixture_keys(None);
        let claims = serde_json::json!({"sub": "abc", "iat": 1});
        let token = keys.sign(&claims, None).unwrap();
        let header = token.split('.').next().unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            format!(r#"{{"alg":"ES384","kid":"{}"}}"#, keys.kid())
        );
        let again = keys.sign(&claims, None).unwrap();
        let signed_part = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
        assert_eq!(
            signed_part(&token),
            signed_part(&again),
            "header and payload replay"
        );
        assert_ne!(token, again, "aws-lc randomises ECDSA signatures");
        assert!(keys.verify_ignoring_expiry(&again, "").is_ok());
        let rs256 = fixture_keys(Some(SigningAlg::Rs256));
        assert_eq!(
            rs256.sign(&claims, None).unwrap(),
            rs256.sign(&claims, None).unwrap(),
            "PKCS#1 v1.5: the same bytes every time"
        );
        let at = keys.sign(&claims, Some("at+jwt")).unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(at.split('.').next().unwrap())
            .unwrap();
        assert!(
            String::from_utf8(header)
                .unwrap()
                .starts_with(r#"{"typ":"at+jwt","alg":"ES384""#)
        );
    }

    #[test]
    fn tokens_this_idp_signed_verify_and_others_do_not() {
        for alg in [SigningAlg::Es384, SigningAlg::Rs256] {
            let keys = fixture_keys(Some(alg));
            let token = keys
                .sign(
                    &serde_json::json!({"iss": "http://idp/oidc", "exp": 1}),
                    None,
                )
                .unwrap();
            let claims = keys
                .verify_ignoring_expiry(&token, "http://idp/oidc")
                .unwrap();
            assert_eq!(claims["exp"], 1, "expired, still a valid hint");
            assert!(
                keys.verify_ignoring_expiry(&token, "http://other/oidc")
                    .is_err()
            );
            let mut tampered = token.clone();
            tampered.insert(tampered.len() / 2, 'x');
            assert!(
                keys.verify_ignoring_expiry(&tampered, "http://idp/oidc")
                    .is_err()
            );
        }
    }

    #[test]
    fn a_bad_pem_is_an_error_not_a_panic() {
        let bad = PrivateKey {
            id: "x".into(),
            value: "not a pem".into(),
            created_at: 0,
        };
        assert!(Keys::load(&[bad], None).is_err());
        assert!(Keys::load(&[], None).is_err());
    }
}
