//! The URIs a server stores and hands back to clients: an experiment's `artifact_location`
//! and a model version's `source`. Clients follow them (to download a model, to log
//! artifacts), so only URIs that name what this server manages are stored:
//!
//! - `mlflow-artifacts:/<path>`: a folder under the server's artifact root, proxied by it;
//! - `runs:/<run_id>/<path>` (model sources): a path inside a run's artifacts;
//! - `models:/<model_id>`, `models:/<name>/<version or alias>`, `models:/<name>@<alias>`
//!   (model sources): a logged model or a registered version;
//! - the server's own artifact root as given to `slipway serve --artifacts-destination`,
//!   strictly under the root: `s3://<bucket>/<prefix>/<path>` for an S3 root; for a local
//!   root, `file:///<root>/<path>` or the plain absolute path as an experiment's location
//!   (a model version's files are registered through `runs:/` or `models:/` instead).
//!
//! Every value is read by one parser (the `url` crate, the WHATWG URL standard) and its path
//! is checked by [`ArtifactPath::parse`] after each round of percent-decoding, so `..` in any
//! spelling (`%2e%2e`, `%252e%252e`, `.%2e`), a host where none belongs
//! (`mlflow-artifacts://evil/...`), a query or fragment, a backslash or a control character
//! are refused, as are all other schemes (`http`, `https`, `ftp`, `hdfs`, `javascript`, ...).

use std::path::Path;

use url::Url;

use crate::artifact::ArtifactPath;
use crate::error::{Error, Result};

/// Which stored field a URI is for; it names the field in errors and sets what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriField {
    /// An experiment's `artifact_location`: where its runs' artifacts go.
    ArtifactLocation,
    /// A model version's `source`: where its files come from.
    ModelSource,
}

impl UriField {
    fn name(self) -> &'static str {
        match self {
            UriField::ArtifactLocation => "artifact_location",
            UriField::ModelSource => "source",
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            UriField::ArtifactLocation => {
                "use mlflow-artifacts:/<path> or a folder under this server's artifact root"
            }
            UriField::ModelSource => {
                "use runs:/<run_id>/<path>, models:/<model_id>, models:/<name>/<version>, \
                 mlflow-artifacts:/<path> or a folder under this server's S3 artifact root"
            }
        }
    }
}

fn refuse(field: UriField, raw: &str, rule: &str) -> Error {
    let shown: String = raw.chars().take(200).collect();
    let more = if shown.len() < raw.len() { "…" } else { "" };
    Error::invalid(format!(
        "Invalid value '{shown}{more}' for parameter '{}': {rule}",
        field.name()
    ))
}

/// Checks `raw` for `field` against the artifact root the server serves (`root_uri`, as
/// [`ArtifactStore::root_uri`](crate::ArtifactStore::root_uri) gives it): `Ok` when the
/// value names something this server manages, else `InvalidParameter` naming the field and
/// the rule.
pub fn check_stored_uri(field: UriField, raw: &str, root_uri: &str) -> Result<()> {
    let bad = |rule: &str| refuse(field, raw, rule);
    if raw.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if raw.chars().any(|c| c.is_control()) {
        return Err(bad("control characters are not allowed"));
    }
    if raw.contains('\\') {
        return Err(bad("backslashes are not allowed"));
    }
    if raw.trim() != raw {
        return Err(bad("leading or trailing spaces are not allowed"));
    }
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase)
            if raw.starts_with('/') && field == UriField::ArtifactLocation =>
        {
            // A plain absolute path: the local root as a path rather than a file:// URL.
            let url = Url::from_file_path(raw)
                .map_err(|()| bad("it is not an absolute path this server can read"))?;
            return check_under_root(field, raw, raw, &url, root_uri);
        }
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(bad(&format!(
                "relative paths are not accepted; {}",
                field.allowed()
            )));
        }
        Err(e) => return Err(bad(&format!("it is not a valid URI ({e})"))),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query ('?') or fragment ('#') is not allowed"));
    }
    // What follows `scheme:` as written: the URL parser resolves dot segments, so the
    // checks below read the raw text, then the parsed URL must agree with it.
    let after_scheme = &raw[url.scheme().len() + 1..];
    match url.scheme() {
        "mlflow-artifacts" => {
            let path = local_part(field, raw, after_scheme)?;
            if path.is_root() {
                return Err(bad(
                    "it names the whole artifact root; name a folder under it",
                ));
            }
            Ok(())
        }
        "runs" if field == UriField::ModelSource => {
            let path = local_part(field, raw, after_scheme)?;
            let Some(run_id) = path.parts().first() else {
                return Err(bad("runs:/ needs a run id: runs:/<run_id>/<path>"));
            };
            if !run_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad(&format!(
                    "run id '{run_id}' may hold only letters, digits, '-' and '_'"
                )));
            }
            Ok(())
        }
        "models" if field == UriField::ModelSource => {
            let path = local_part(field, raw, after_scheme)?;
            match path.parts().len() {
                1 | 2 => Ok(()),
                0 => Err(bad(
                    "models:/ needs a model: models:/<model_id> or models:/<name>/<version>",
                )),
                _ => Err(bad(
                    "models:/ takes models:/<model_id> or models:/<name>/<version or alias>",
                )),
            }
        }
        "file" if field == UriField::ModelSource => Err(bad(&format!(
            "local files are not accepted; log the model to this server and {}",
            field.allowed()
        ))),
        "file" | "s3" => {
            let path_text = match after_scheme.strip_prefix("//") {
                Some(rest) => rest,
                None => return Err(bad("write it as file:///<path> or s3://<bucket>/<prefix>")),
            };
            check_under_root(field, raw, path_text, &url, root_uri)
        }
        other => Err(bad(&format!(
            "the scheme '{}' is not one this server manages; {}",
            other.chars().take(32).collect::<String>(),
            field.allowed()
        ))),
    }
}

/// The path under the artifact root (`root_uri`) that a stored location names:
/// `mlflow-artifacts:/<path>`, or a `file:`/`s3:`/plain-path URI strictly under the root. The
/// value is checked as [`check_stored_uri`] checks an artifact location first, so nothing
/// outside the root can be named.
pub fn artifact_path_in_root(raw: &str, root_uri: &str) -> Result<ArtifactPath> {
    check_stored_uri(UriField::ArtifactLocation, raw, root_uri)?;
    if let Some(after) = raw.strip_prefix("mlflow-artifacts:") {
        return local_part(UriField::ArtifactLocation, raw, after);
    }
    let url = if raw.starts_with('/') {
        Url::from_file_path(raw)
            .map_err(|()| refuse(UriField::ArtifactLocation, raw, "not a path"))?
    } else {
        Url::parse(raw).map_err(|e| refuse(UriField::ArtifactLocation, raw, &e.to_string()))?
    };
    let root = Url::parse(root_uri)
        .map_err(|e| Error::Internal(format!("artifact root '{root_uri}' is not a URI: {e}")))?;
    let (inside, base) = (path_segments(&url), path_segments(&root));
    ArtifactPath::parse(&inside[base.len()..].join("/"))
}

/// The artifact path of `mlflow-artifacts:/p`, `runs:/p` or `models:/p`: no host, the path
/// checked for escapes in every decoding.
fn local_part(field: UriField, raw: &str, after_scheme: &str) -> Result<ArtifactPath> {
    let Some(path) = after_scheme.strip_prefix('/') else {
        return Err(refuse(
            field,
            raw,
            "write the path after ':/' (for example runs:/<run_id>/model)",
        ));
    };
    if path.starts_with('/') {
        return Err(refuse(
            field,
            raw,
            "a host ('//host/') is not allowed: the URI names this server",
        ));
    }
    ArtifactPath::parse(path).map_err(|e| refuse(field, raw, &e.to_string()))
}

/// Checks that a `file:`, plain-path or `s3:` value lies strictly under the server's root.
fn check_under_root(
    field: UriField,
    raw: &str,
    path_text: &str,
    url: &Url,
    root_uri: &str,
) -> Result<()> {
    let bad = |rule: &str| refuse(field, raw, rule);
    // `..` in any spelling is refused before the parser resolves it.
    for part in path_text.split('/') {
        let mut form = part.to_string();
        for _ in 0..5 {
            if form == ".." || form == "." {
                return Err(bad("'.' and '..' path parts are not allowed"));
            }
            let decoded = percent_decode(&form);
            if decoded == form {
                break;
            }
            if decoded.contains('/') || decoded.contains('\\') {
                return Err(bad("an encoded '/' or '\\' is not allowed"));
            }
            form = decoded;
        }
    }
    let root = Url::parse(root_uri)
        .map_err(|e| Error::Internal(format!("artifact root '{root_uri}' is not a URI: {e}")))?;
    let outside = || {
        bad(&format!(
            "it is outside this server's artifact root; {}",
            field.allowed()
        ))
    };
    if url.scheme() != root.scheme() {
        return Err(outside());
    }
    let same_host = match url.scheme() {
        // `file://localhost/x` is `file:///x`.
        "file" => url.host_str().unwrap_or("").is_empty() || url.host_str() == Some("localhost"),
        _ => url.host_str() == root.host_str(),
    };
    if !same_host || url.port() != root.port() || !url.username().is_empty() {
        return Err(outside());
    }
    let (inside, base) = (path_segments(url), path_segments(&root));
    if inside.len() <= base.len() || inside[..base.len()] != base[..] {
        return Err(outside());
    }
    if url.scheme() == "file" {
        // The decoded path must be what the parsed URL says: no NUL, nothing the platform
        // would read otherwise.
        let path = url.to_file_path().map_err(|()| outside())?;
        if !Path::new(&path).is_absolute() {
            return Err(outside());
        }
    }
    Ok(())
}

/// A URL's non-empty path segments, each percent-decoded once.
fn path_segments(u: &Url) -> Vec<String> {
    u.path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(percent_decode).collect())
        .unwrap_or_default()
}

/// Decodes `%XX` sequences once (invalid UTF-8 becomes U+FFFD).
fn percent_decode(s: &str) -> String {
    crate::artifact::percent_decode_once(s).unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "file:///srv/slipway/artifacts/";
    const S3: &str = "s3://team-bucket/mlflow";

    fn ok(field: UriField, raw: &str, root: &str) {
        check_stored_uri(field, raw, root).unwrap_or_else(|e| panic!("{raw}: {e}"));
    }

    fn refused(field: UriField, raw: &str, root: &str) {
        let e = check_stored_uri(field, raw, root).expect_err(raw);
        assert_eq!(e.kind(), crate::ErrorKind::User, "{raw}");
        let name = format!("parameter '{}'", field.name());
        assert!(e.to_string().contains(&name), "{raw}: {e}");
    }

    #[test]
    fn what_the_server_manages_is_accepted() {
        use UriField::*;
        for root in [LOCAL, S3] {
            ok(ArtifactLocation, "mlflow-artifacts:/7", root);
            ok(ArtifactLocation, "mlflow-artifacts:/team/exp", root);
            ok(ModelSource, "mlflow-artifacts:/1/abc/artifacts/model", root);
            ok(ModelSource, "runs:/0123abcd/model", root);
            ok(ModelSource, "runs:/0123abcd", root);
            ok(ModelSource, "runs:/0123abcd/sub/model dir", root);
            ok(ModelSource, "models:/m-0123abcd", root);
            ok(ModelSource, "models:/my model/3", root);
            ok(ModelSource, "models:/my-model/champion", root);
            ok(ModelSource, "models:/my-model@champion", root);
        }
        ok(
            ArtifactLocation,
            "file:///srv/slipway/artifacts/team",
            LOCAL,
        );
        ok(ArtifactLocation, "/srv/slipway/artifacts/team/x", LOCAL);
        ok(
            ArtifactLocation,
            "file://localhost/srv/slipway/artifacts/1/x",
            LOCAL,
        );
        refused(
            ModelSource,
            "file:///srv/slipway/artifacts/1/r/artifacts/m",
            LOCAL,
        );
        refused(ModelSource, "/srv/slipway/artifacts/1/r/artifacts/m", LOCAL);
        ok(ArtifactLocation, "s3://team-bucket/mlflow/exp", S3);
        ok(
            ModelSource,
            "s3://team-bucket/mlflow/1/r/artifacts/model",
            S3,
        );
    }

    #[test]
    fn the_reported_values_are_refused() {
        use UriField::*;
        for root in [LOCAL, S3] {
            for raw in [
                "http://169.254.169.254/latest/meta-data",
                "file:///etc",
                "../../outside",
                "http:///#/../..",
                "https://example.com/model",
                "ftp://example.com/x",
                "javascript:alert(1)",
                "data:text/plain,x",
                "hdfs://namenode/x",
                "mlruns/1/abc/artifacts/model",
                "mlflow-artifacts:/%2e%2e/%2e%2e/etc",
                "mlflow-artifacts:/1/../../etc",
                "mlflow-artifacts:/1/%252e%252e/x",
                "mlflow-artifacts://evil.example/1",
                "mlflow-artifacts:1",
                "mlflow-artifacts:/",
                "mlflow-artifacts:/1?x=y",
                "mlflow-artifacts:/1#frag",
                "mlflow-artifacts:/1\\..\\..",
                "mlflow-artifacts:/1/a\nb",
                " mlflow-artifacts:/1",
                "",
            ] {
                refused(ArtifactLocation, raw, root);
                refused(ModelSource, raw, root);
            }
            for raw in [
                "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/x",
                "runs:/R/%2e%2e/%2e%2e/etc",
                "runs:/R/../../etc",
                "runs:/R/.%2e/x",
                "runs://host/R/model",
                "runs:/",
                "runs:/R%2F..%2F../x",
                "models:/",
                "models:/a/b/c",
                "models:/%2e%2e/1",
                "/etc/passwd",
            ] {
                refused(ModelSource, raw, root);
            }
            // Sources that name runs or models are not experiment locations.
            refused(ArtifactLocation, "runs:/R/model", root);
            refused(ArtifactLocation, "models:/m-1", root);
        }
    }

    #[test]
    fn stored_locations_resolve_to_paths_under_the_root() {
        let path = |raw: &str, root: &str| artifact_path_in_root(raw, root).map(|p| p.to_string());
        assert_eq!(
            path("mlflow-artifacts:/1/r/artifacts/model", LOCAL).unwrap(),
            "1/r/artifacts/model"
        );
        assert_eq!(
            path("file:///srv/slipway/artifacts/1/r%20x", LOCAL).unwrap(),
            "1/r x"
        );
        assert_eq!(path("/srv/slipway/artifacts/1/r", LOCAL).unwrap(), "1/r");
        assert_eq!(
            path("s3://team-bucket/mlflow/7/r/artifacts", S3).unwrap(),
            "7/r/artifacts"
        );
        for raw in [
            "file:///srv/other/1",
            "mlflow-artifacts:/1/../../x",
            "http://x/1",
        ] {
            assert!(path(raw, LOCAL).is_err(), "{raw}");
        }
    }

    #[test]
    fn only_the_servers_own_root_is_accepted() {
        use UriField::*;
        for raw in [
            "file:///srv/slipway/artifacts",
            "file:///srv/slipway/artifacts/",
            "file:///srv/slipway/artifacts-other/x",
            "file:///srv/slipway/artifacts/../secrets",
            "file:///srv/slipway/artifacts/%2e%2e/secrets",
            "file:///srv/slipway/artifacts/a%2f..%2f..%2fsecrets",
            "file://otherhost/srv/slipway/artifacts/x",
            "/srv/slipway/artifacts/../x",
            "/srv/slipway",
            "s3://team-bucket/mlflow/x",
        ] {
            refused(ArtifactLocation, raw, LOCAL);
            refused(ModelSource, raw, LOCAL);
        }
        for raw in [
            "s3://team-bucket/mlflow",
            "s3://team-bucket/other/x",
            "s3://other-bucket/mlflow/x",
            "s3://team-bucket/mlflow/../x",
            "s3://team-bucket/mlflow/%2e%2e/x",
            "s3://user@team-bucket/mlflow/x",
            "s3:team-bucket/mlflow/x",
            "file:///srv/slipway/artifacts/x",
            "/srv/slipway/artifacts/x",
        ] {
            refused(ArtifactLocation, raw, S3);
            refused(ModelSource, raw, S3);
        }
    }
}
