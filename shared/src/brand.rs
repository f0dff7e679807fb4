//! The product's own look on the hosted pages and in the mails: its name, its logo and its
//! accent colour (settings of the deployment), checked so that text on the accent stays
//! readable (WCAG AA, 4.5:1 against white).

use url::Url;

/// What the pages and mails call the product when nothing else is set.
pub const DEFAULT_NAME: &str = "Identity";
/// The pages' own accent (the stylesheet's `--brand`).
pub const DEFAULT_ACCENT: Rgb = Rgb(0x1d, 0x4e, 0xd8);
/// WCAG 2.x AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// A colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn parse(raw: &str) -> Option<Rgb> {
        let hex = raw.trim().strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    /// `#rrggbb`, lower case.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2.x relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let v = f64::from(c) / 255.0;
            if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// WCAG contrast ratio with `other`.
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// The colour a quarter darker (hover states).
    pub fn darker(self) -> Rgb {
        let d = |c: u8| (f64::from(c) * 0.75).round() as u8;
        Rgb(d(self.0), d(self.1), d(self.2))
    }
}

/// White: the text on buttons, and the paper links sit on.
const WHITE: Rgb = Rgb(255, 255, 255);

/// The deployment's brand.
#[derive(Clone, Debug, PartialEq)]
pub struct Brand {
    /// `BRAND_NAME`: the header of every page, page titles, and the mails' signature.
    pub name: String,
    /// `BRAND_LOGO_URL`: an https image (http only on loopback) shown in the pages' header.
    pub logo_url: Option<String>,
    /// `BRAND_ACCENT_COLOR`: buttons and links (`#rrggbb`).
    pub accent: Option<Rgb>,
}

impl Default for Brand {
    fn default() -> Brand {
        Brand { name: DEFAULT_NAME.to_owned(), logo_url: None, accent: None }
    }
}

impl Brand {
    /// Checks the three settings; the reason names the setting.
    pub fn parse(
        name: Option<&str>,
        logo_url: Option<&str>,
        accent: Option<&str>,
    ) -> Result<Brand, (&'static str, String)> {
        let name = match name.map(str::trim) {
            None => DEFAULT_NAME.to_owned(),
            Some(n) if (1..=60).contains(&n.chars().count()) && !n.chars().any(char::is_control) => n.to_owned(),
            Some(_) => {
                return Err(("BRAND_NAME", "must be 1 to 60 characters, none of them control characters".into()));
            }
        };
        let logo_url = logo_url.map(|u| image_url(u).map_err(|why| ("BRAND_LOGO_URL", why))).transpose()?;
        let accent = match accent {
            None => None,
            Some(raw) => {
                let rgb = Rgb::parse(raw).ok_or(("BRAND_ACCENT_COLOR", format!("'{raw}' is not a #rrggbb colour")))?;
                let ratio = rgb.contrast(WHITE);
                if ratio < MIN_CONTRAST {
                    let why = format!(
                        "{} has {ratio:.2}:1 contrast with white (button text, page background); \
                         WCAG AA needs {MIN_CONTRAST}:1, so choose a darker shade",
                        rgb.hex()
                    );
                    return Err(("BRAND_ACCENT_COLOR", why));
                }
                Some(rgb)
            }
        };
        Ok(Brand { name, logo_url, accent })
    }

    /// The stylesheet that puts the accent in the pages' variables (empty without one).
    pub fn css(&self) -> String {
        match self.accent {
            Some(rgb) => format!(":root {{ --brand: {}; --brand-dark: {}; }}\n", rgb.hex(), rgb.darker().hex()),
            None => String::new(),
        }
    }

    /// The accent for the mails' buttons.
    pub fn accent_hex(&self) -> String {
        self.accent.unwrap_or(DEFAULT_ACCENT).hex()
    }
}

/// An image URL a page may show: https (http only on a loopback host), no credentials, at most
/// 2000 bytes; the page's CSP admits its origin.
pub fn image_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let url = Url::parse(raw).map_err(|_| format!("'{raw}' is not an absolute URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || raw.len() > 2000 || !url.username().is_empty() || raw.contains(['"', '\'', ' ', ';']) {
        return Err("must be an https URL (http only on loopback) of at most 2000 characters".into());
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((Rgb(0, 0, 0).contrast(WHITE) - 21.0).abs() < 1e-9);
        assert!(DEFAULT_ACCENT.contrast(WHITE) >= MIN_CONTRAST);
        // #767676 is the classic threshold grey (4.54:1); #777777 fails (4.48:1).
        assert!(Rgb::parse("#767676").unwrap().contrast(WHITE) >= MIN_CONTRAST);
        assert!(Rgb::parse("#777777").unwrap().contrast(WHITE) < MIN_CONTRAST);
    }

    #[test]
    fn settings_are_checked() {
        let brand = Brand::parse(Some("Acme"), Some("https://cdn.acme.example/logo.svg"), Some("#0B6E4F")).unwrap();
        assert_eq!(brand.css(), ":root { --brand: #0b6e4f; --brand-dark: #08533b; }\n");
        assert_eq!(Brand::parse(None, None, Some("#ffcc00")).unwrap_err().0, "BRAND_ACCENT_COLOR");
        assert_eq!(Brand::parse(None, None, Some("blue")).unwrap_err().0, "BRAND_ACCENT_COLOR");
        assert_eq!(Brand::parse(None, Some("http://cdn.example/l.png"), None).unwrap_err().0, "BRAND_LOGO_URL");
        assert_eq!(Brand::parse(Some(""), None, None).unwrap_err().0, "BRAND_NAME");
        assert_eq!(Brand::parse(None, None, None).unwrap(), Brand::default());
    }
}
