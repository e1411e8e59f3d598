//! The form page's own script and style sheet (host/assets/), built into
//! the binary and served by the host, never from a CDN. Their URLs carry
//! a hash of their content, so a browser may keep them for a year and
//! still gets a new version the moment it changes.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub struct Asset {
    /// The file name under `/assets/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

pub const FORM_JS: Asset = Asset {
    name: "form.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("../../assets/form.js"),
};

pub const FORM_CSS: Asset = Asset {
    name: "form.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../../assets/form.css"),
};

/// The form designer's live preview (`http::pages::forms`).
pub const DESIGNER_JS: Asset = Asset {
    name: "designer.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("../../assets/designer.js"),
};

const ALL: [&Asset; 3] = [&FORM_JS, &FORM_CSS, &DESIGNER_JS];

/// `Cache-Control` of an asset: its URL changes with its content.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

static VERSIONS: LazyLock<[String; 3]> = LazyLock::new(|| ALL.map(|asset| content_hash(asset.body)));

fn content_hash(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Asset {
    /// Where pages link it: `/assets/<name>?v=<content hash>`.
    pub fn url(&self) -> String {
        let index = ALL
            .iter()
            .position(|a| a.name == self.name)
            .expect("every asset is listed");
        format!("/assets/{}?v={}", self.name, VERSIONS[index])
    }
}

/// The asset served at `/assets/<name>`.
pub fn by_name(name: &str) -> Option<&'static Asset> {
    ALL.into_iter().find(|asset| asset.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_asset_is_found_by_its_name_and_linked_by_its_content() {
        assert_eq!(by_name("form.js").map(|a| a.content_type), Some(FORM_JS.content_type));
        assert!(by_name("../Cargo.toml").is_none());
        let url = FORM_JS.url();
        assert!(url.starts_with("/assets/form.js?v=") && url.len() == "/assets/form.js?v=".len() + 12);
        assert_ne!(FORM_JS.url(), FORM_CSS.url());
    }
}
