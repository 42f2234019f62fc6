//! Hashes of strings and files, and UUIDs. Random or salted results
//! (`uuid`, `bcrypt`) and decryption with a private key (`rsadecrypt`) are
//! always unknown.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::encoding::base64_encode;
use super::filesystem::read_bytes;
use super::{Args, Arity, Function, FunctionError, Value};

use Arity::*;

pub(super) const FUNCTIONS: &[Function] = &[
    Function::new("base64sha256", Exactly(1), |a| {
        string_hash::<Sha256>(a, Base64)
    }),
    Function::new("base64sha512", Exactly(1), |a| {
        string_hash::<Sha512>(a, Base64)
    }),
    Function::new("md5", Exactly(1), |a| string_hash::<Md5>(a, Hex)),
    Function::new("sha1", Exactly(1), |a| string_hash::<Sha1>(a, Hex)),
    Function::new("sha256", Exactly(1), |a| string_hash::<Sha256>(a, Hex)),
    Function::new("sha512", Exactly(1), |a| string_hash::<Sha512>(a, Hex)),
    Function::new("filebase64sha256", Exactly(1), |a| {
        file_hash::<Sha256>(a, Base64)
    }),
    Function::new("filebase64sha512", Exactly(1), |a| {
        file_hash::<Sha512>(a, Base64)
    }),
    Function::new("filemd5", Exactly(1), |a| file_hash::<Md5>(a, Hex)),
    Function::new("filesha1", Exactly(1), |a| file_hash::<Sha1>(a, Hex)),
    Function::new("filesha256", Exactly(1), |a| file_hash::<Sha256>(a, Hex)),
    Function::new("filesha512", Exactly(1), |a| file_hash::<Sha512>(a, Hex)),
    Function::new("uuid", Exactly(0), super::unknown),
    Function::new("uuidv5", Exactly(2), uuidv5),
    Function::new("bcrypt", Between(1, 2), super::unknown),
    Function::new("rsadecrypt", Exactly(2), super::unknown),
];

/// How a digest is written.
#[derive(Clone, Copy)]
enum Encoding {
    Hex,
    Base64,
}

use Encoding::*;

fn digest<D: Digest>(bytes: &[u8], encoding: Encoding) -> Value {
    let sum = D::digest(bytes);
    Value::from(match encoding {
        Hex => hex(&sum),
        Base64 => base64_encode(&sum),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of the string's UTF-8 bytes.
fn string_hash<D: Digest>(args: &Args<'_>, encoding: Encoding) -> Result<Value, FunctionError> {
    Ok(digest::<D>(args.string(0)?.as_bytes(), encoding))
}

/// The digest of a file's bytes (see `file` for where it may be).
fn file_hash<D: Digest>(args: &Args<'_>, encoding: Encoding) -> Result<Value, FunctionError> {
    let bytes = read_bytes(args.ctx, args.name, &args.string(0)?)?;
    Ok(digest::<D>(&bytes, encoding))
}

/// `uuidv5(namespace, name)`: namespace `dns`, `url`, `oid`, `x500` or a
/// UUID.
fn uuidv5(args: &Args<'_>) -> Result<Value, FunctionError> {
    let namespace_text = args.string(0)?;
    let namespace = match &*namespace_text {
        "dns" => parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        "url" => parse_uuid("6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
        "oid" => parse_uuid("6ba7b812-9dad-11d1-80b4-00c04fd430c8"),
        "x500" => parse_uuid("6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
        other => parse_uuid(other),
    }
    .ok_or_else(|| {
        args.invalid(
            0,
            format!("uuidv5() doesn't support namespace {namespace_text} (invalid UUID format)"),
        )
    })?;
    let mut hasher = Sha1::new();
    hasher.update(namespace);
    hasher.update(args.string(1)?.as_bytes());
    let sum = hasher.finalize();
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&sum[..16]);
    uuid[6] = (uuid[6] & 0x0f) | 0x50;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    let h = hex(&uuid);
    Ok(Value::from(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// A UUID in the forms Go's `uuid.Parse` reads: hyphenated, braced,
/// `urn:uuid:` prefixed, or 32 bare hex digits.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bare = text.strip_prefix("urn:uuid:").unwrap_or(text);
    let bare = bare
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or(bare);
    let digits: String = match bare.len() {
        36 => {
            let dashes_ok = [8, 13, 18, 23].iter().all(|&i| bare.as_bytes()[i] == b'-');
            if !dashes_ok {
                return None;
            }
            bare.chars().filter(|&c| c != '-').collect()
        }
        32 => bare.to_string(),
        _ => return None,
    };
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<super::testing::Case> {
    use super::testing::*;
    let hello = || vec![s("hello world")];
    let file = || vec![s("hello.txt")];
    vec![
        ok("md5", hello(), s("5eb63bbbe01eeed093cb22bb8f5acdc3")),
        ok("sha1", hello(), s("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")),
        ok("sha256", hello(), s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")),
        ok("sha512", hello(), s("309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f")),
        ok("base64sha256", hello(), s("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")),
        ok("base64sha512", hello(), s("MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==")),
        ok("filemd5", file(), s("b10a8db164e0754105b7a99be72e3fe5")),
        ok("filesha1", file(), s("0a4d55a8d778e5022fab701977c5d840bbc486d0")),
        ok("filesha256", file(), s("a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e")),
        ok("filesha512", file(), s("2c74fd17edafd80e8447b0d46741ee243b7eb74dd2149a0ab1b9246fb30382f27e853d8585719e0e67cbda0daa8f51671064615d645ae27acb15bfb1447f459b")),
        ok("filebase64sha256", file(), s("pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=")),
        ok("filebase64sha512", file(), s("LHT9F+2v2A6ER7DUZ0HuJDt+t03SFJoKsbkkb7MDgvJ+hT2FhXGeDmfL2g2qj1FnEGRhXWRa4nrLFb+xRH9Fmw==")),
        err("filesha256", vec![s("missing.txt")], "no file exists"),
        ok("uuid", vec![], Value::Unknown),
        ok("uuidv5", vec![s("dns"), s("www.terraform.io")], s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")),
        ok("uuidv5", vec![s("url"), s("https://www.terraform.io/")], s("9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5")),
        ok("uuidv5", vec![s("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), s("www.terraform.io")], s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")),
        err("uuidv5", vec![s("nope"), s("x")], "doesn't support namespace nope"),
        ok("bcrypt", vec![s("secret")], Value::Unknown),
        ok("rsadecrypt", vec![s("ciphertext"), s("key")], Value::Unknown),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        super::super::testing::run(cases());
    }

    #[test]
    fn uuid_forms() {
        let plain = parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        assert!(plain.is_some());
        assert_eq!(parse_uuid("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}"), plain);
        assert_eq!(
            parse_uuid("urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
            plain
        );
        assert_eq!(parse_uuid("6ba7b8109dad11d180b400c04fd430c8"), plain);
        assert_eq!(parse_uuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8"), None);
    }
}
