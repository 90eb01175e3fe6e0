//! OCPI pagination: `offset`/`limit`/`date_from`/`date_to` in, `Link`/`X-Total-Count`/`X-Limit`
//! out. The hub's own lists also carry a `cursor` in the Link it hands out, so a client that
//! follows Link reads deep pages by keyset instead of scanning the offset.

use actix_web::HttpResponseBuilder;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Largest page the hub serves (announced in X-Limit).
pub const MAX_LIMIT: i64 = 1000;
pub const DEFAULT_LIMIT: i64 = 100;

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    date_from_raw: Option<String>,
    date_to_raw: Option<String>,
    /// Keyset position `(last_updated, seq)` from a hub-issued Link.
    pub cursor: Option<(i64, i64)>,
    /// Encoded remote next-page URL from a hub-issued Link of a forwarded list.
    pub hub_page: Option<String>,
    /// Query parameters the hub does not interpret (forwarded as they are).
    pub other: Vec<(String, String)>,
}

impl Page {
    pub fn from_query(query: &str) -> Result<Self, String> {
        let mut p = Page { limit: DEFAULT_LIMIT, ..Default::default() };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "offset" => p.offset = v.parse().ok().filter(|o: &i64| *o >= 0).ok_or("offset: not a non-negative integer")?,
                "limit" => p.limit = v.parse().ok().filter(|l: &i64| *l >= 0).ok_or("limit: not a non-negative integer")?,
                "date_from" => {
                    p.date_from = Some(parse_datetime(&v).ok_or("date_from: not an RFC 3339 timestamp")?);
                    p.date_from_raw = Some(v.into_owned());
                }
                "date_to" => {
                    p.date_to = Some(parse_datetime(&v).ok_or("date_to: not an RFC 3339 timestamp")?);
                    p.date_to_raw = Some(v.into_owned());
                }
                "cursor" => {
                    let (a, b) = v.split_once('.').ok_or("cursor: malformed")?;
                    p.cursor = Some((a.parse().map_err(|_| "cursor: malformed")?, b.parse().map_err(|_| "cursor: malformed")?));
                }
                "hub_page" => p.hub_page = Some(v.into_owned()),
                _ => p.other.push((k.into_owned(), v.into_owned())),
            }
        }
        p.limit = p.limit.clamp(1, MAX_LIMIT);
        Ok(p)
    }

    /// The URL of the next page after `count` items, at `base`.
    pub fn next_url(&self, base: &str, count: i64, cursor: Option<(i64, i64)>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("offset", &(self.offset + count).to_string());
        q.append_pair("limit", &self.limit.to_string());
        if let Some(d) = &self.date_from_raw {
            q.append_pair("date_from", d);
        }
        if let Some(d) = &self.date_to_raw {
            q.append_pair("date_to", d);
        }
        if let Some((lu, seq)) = cursor {
            q.append_pair("cursor", &format!("{lu}.{seq}"));
        }
        format!("{base}?{}", q.finish())
    }
}

/// Sets the pagination headers.
pub fn headers(b: &mut HttpResponseBuilder, total: i64, limit: i64, next: Option<&str>) {
    b.insert_header(("X-Total-Count", total.to_string()));
    b.insert_header(("X-Limit", limit.to_string()));
    if let Some(next) = next {
        b.insert_header(("Link", format!("<{next}>; rel=\"next\"")));
    }
}

/// Parses an OCPI DateTime (RFC 3339; no zone designator means UTC) into micros.
pub fn parse_datetime(s: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).timestamp_micros());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc().timestamp_micros())
}

/// Formats micros as an OCPI DateTime (UTC, `Z`).
pub fn format_micros(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The `rel="next"` URL of a Link header, if any.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trip() {
        let p = Page::from_query("offset=10&limit=5000&date_from=2019-01-01T00:00:00Z&x=1").unwrap();
        assert_eq!((p.offset, p.limit), (10, MAX_LIMIT));
        assert!(p.date_from.is_some());
        assert_eq!(p.other, vec![("x".to_string(), "1".to_string())]);
        let next = p.next_url("http://h/l", 3, Some((5, 6)));
        assert!(next.contains("offset=13") && next.contains("cursor=5.6") && next.contains("date_from=2019"));
        assert!(Page::from_query("offset=-1").is_err());
        assert!(Page::from_query("date_to=yesterday").is_err());
    }

    #[test]
    fn zone_less_timestamps_are_utc() {
        assert_eq!(parse_datetime("2019-01-01T00:00:00"), parse_datetime("2019-01-01T00:00:00Z"));
    }

    #[test]
    fn link_header() {
        assert_eq!(next_link("<https://x/y?offset=5>; rel=\"next\"").as_deref(), Some("https://x/y?offset=5"));
        assert_eq!(next_link("<https://x/y>; rel=\"prev\""), None);
    }
}
