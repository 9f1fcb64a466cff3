//! Windows time zones as calendars name them, mapped to IANA zones.
//!
//! Outlook and the Kerio Outlook Connector write a Windows zone's id
//! (`W. Europe Standard Time`) or its display name (`(UTC+01:00) Amsterdam,
//! Berlin, Bern, Rome, Stockholm, Vienna`, older `(GMT+01:00) …`, or a list
//! of cities without the offset, sometimes cities of several zones:
//! `Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris, Prague,
//! Stockholm`) as TZID. Google Calendar and most servers only know IANA
//! names. [`ZONES`] is the Windows zone table (every zone of the Windows
//! registry with its English display name, and the IANA zone CLDR's
//! `windowsZones.xml` gives for it, territory 001); [`iana_of`] finds the
//! zone of a TZID by its id, its display name, or its cities.
//!
//! Invariants: matching ignores case, white space (a folded TZID), quotes
//! and the `(UTC±hh:mm)` / `(GMT±hh.mm)` prefix; a list of cities goes to
//! the zone most of its cities name, ties to the zone of the first city; a
//! prefix offset that contradicts every candidate gives no match. Nothing
//! here guesses from offsets alone.

/// One Windows zone: registry id, display name, IANA zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowsZone {
    /// The registry key (`W. Europe Standard Time`).
    pub id: &'static str,
    /// The English display name, with its offset prefix.
    pub display: &'static str,
    /// The IANA zone.
    pub iana: &'static str,
}

macro_rules! zones {
    ($(($id:expr, $display:expr, $iana:expr)),* $(,)?) => {
        &[$(WindowsZone { id: $id, display: $display, iana: $iana }),*]
    };
}

/// The Windows zone table.
pub const ZONES: &[WindowsZone] = zones![
    (
        "Dateline Standard Time",
        "(UTC-12:00) International Date Line West",
        "Etc/GMT+12"
    ),
    (
        "UTC-11",
        "(UTC-11:00) Coordinated Universal Time-11",
        "Etc/GMT+11"
    ),
    (
        "Aleutian Standard Time",
        "(UTC-10:00) Aleutian Islands",
        "America/Adak"
    ),
    (
        "Hawaiian Standard Time",
        "(UTC-10:00) Hawaii",
        "Pacific/Honolulu"
    ),
    (
        "Marquesas Standard Time",
        "(UTC-09:30) Marquesas Islands",
        "Pacific/Marquesas"
    ),
    (
        "Alaskan Standard Time",
        "(UTC-09:00) Alaska",
        "America/Anchorage"
    ),
    (
        "UTC-09",
        "(UTC-09:00) Coordinated Universal Time-09",
        "Etc/GMT+9"
    ),
    (
        "Pacific Standard Time (Mexico)",
        "(UTC-08:00) Baja California",
        "America/Tijuana"
    ),
    (
        "UTC-08",
        "(UTC-08:00) Coordinated Universal Time-08",
        "Etc/GMT+8"
    ),
    (
        "Pacific Standard Time",
        "(UTC-08:00) Pacific Time (US & Canada)",
        "America/Los_Angeles"
    ),
    (
        "US Mountain Standard Time",
        "(UTC-07:00) Arizona",
        "America/Phoenix"
    ),
    (
        "Mountain Standard Time (Mexico)",
        "(UTC-07:00) Chihuahua, La Paz, Mazatlan",
        "America/Mazatlan"
    ),
    (
        "Mountain Standard Time",
        "(UTC-07:00) Mountain Time (US & Canada)",
        "America/Denver"
    ),
    (
        "Yukon Standard Time",
        "(UTC-07:00) Yukon",
        "America/Whitehorse"
    ),
    (
        "Central America Standard Time",
        "(UTC-06:00) Central America",
        "America/Guatemala"
    ),
    (
        "Central Standard Time",
        "(UTC-06:00) Central Time (US & Canada)",
        "America/Chicago"
    ),
    (
        "Easter Island Standard Time",
        "(UTC-06:00) Easter Island",
        "Pacific/Easter"
    ),
    (
        "Central Standard Time (Mexico)",
        "(UTC-06:00) Guadalajara, Mexico City, Monterrey",
        "America/Mexico_City"
    ),
    (
        "Canada Central Standard Time",
        "(UTC-06:00) Saskatchewan",
        "America/Regina"
    ),
    (
        "SA Pacific Standard Time",
        "(UTC-05:00) Bogota, Lima, Quito, Rio Branco",
        "America/Bogota"
    ),
    (
        "Eastern Standard Time (Mexico)",
        "(UTC-05:00) Chetumal",
        "America/Cancun"
    ),
    (
        "Eastern Standard Time",
        "(UTC-05:00) Eastern Time (US & Canada)",
        "America/New_York"
    ),
    (
        "Haiti Standard Time",
        "(UTC-05:00) Haiti",
        "America/Port-au-Prince"
    ),
    ("Cuba Standard Time", "(UTC-05:00) Havana", "America/Havana"),
    (
        "US Eastern Standard Time",
        "(UTC-05:00) Indiana (East)",
        "America/Indiana/Indianapolis"
    ),
    (
        "Turks And Caicos Standard Time",
        "(UTC-05:00) Turks and Caicos",
        "America/Grand_Turk"
    ),
    (
        "Paraguay Standard Time",
        "(UTC-04:00) Asuncion",
        "America/Asuncion"
    ),
    (
        "Atlantic Standard Time",
        "(UTC-04:00) Atlantic Time (Canada)",
        "America/Halifax"
    ),
    (
        "Venezuela Standard Time",
        "(UTC-04:00) Caracas",
        "America/Caracas"
    ),
    (
        "Central Brazilian Standard Time",
        "(UTC-04:00) Cuiaba",
        "America/Cuiaba"
    ),
    (
        "SA Western Standard Time",
        "(UTC-04:00) Georgetown, La Paz, Manaus, San Juan",
        "America/La_Paz"
    ),
    (
        "Pacific SA Standard Time",
        "(UTC-04:00) Santiago",
        "America/Santiago"
    ),
    (
        "Newfoundland Standard Time",
        "(UTC-03:30) Newfoundland",
        "America/St_Johns"
    ),
    (
        "Tocantins Standard Time",
        "(UTC-03:00) Araguaina",
        "America/Araguaina"
    ),
    (
        "E. South America Standard Time",
        "(UTC-03:00) Brasilia",
        "America/Sao_Paulo"
    ),
    (
        "SA Eastern Standard Time",
        "(UTC-03:00) Cayenne, Fortaleza",
        "America/Cayenne"
    ),
    (
        "Argentina Standard Time",
        "(UTC-03:00) City of Buenos Aires",
        "America/Argentina/Buenos_Aires"
    ),
    (
        "Greenland Standard Time",
        "(UTC-03:00) Greenland",
        "America/Nuuk"
    ),
    (
        "Montevideo Standard Time",
        "(UTC-03:00) Montevideo",
        "America/Montevideo"
    ),
    (
        "Magallanes Standard Time",
        "(UTC-03:00) Punta Arenas",
        "America/Punta_Arenas"
    ),
    (
        "Saint Pierre Standard Time",
        "(UTC-03:00) Saint Pierre and Miquelon",
        "America/Miquelon"
    ),
    (
        "Bahia Standard Time",
        "(UTC-03:00) Salvador",
        "America/Bahia"
    ),
    (
        "UTC-02",
        "(UTC-02:00) Coordinated Universal Time-02",
        "Etc/GMT+2"
    ),
    (
        "Mid-Atlantic Standard Time",
        "(UTC-02:00) Mid-Atlantic - Old",
        "Etc/GMT+2"
    ),
    (
        "Azores Standard Time",
        "(UTC-01:00) Azores",
        "Atlantic/Azores"
    ),
    (
        "Cape Verde Standard Time",
        "(UTC-01:00) Cabo Verde Is.",
        "Atlantic/Cape_Verde"
    ),
    ("UTC", "(UTC) Coordinated Universal Time", "Etc/UTC"),
    (
        "GMT Standard Time",
        "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
        "Europe/London"
    ),
    (
        "Greenwich Standard Time",
        "(UTC+00:00) Monrovia, Reykjavik",
        "Atlantic/Reykjavik"
    ),
    (
        "Sao Tome Standard Time",
        "(UTC+00:00) Sao Tome",
        "Africa/Sao_Tome"
    ),
    (
        "Morocco Standard Time",
        "(UTC+01:00) Casablanca",
        "Africa/Casablanca"
    ),
    (
        "W. Europe Standard Time",
        "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        "Europe/Berlin"
    ),
    (
        "Central Europe Standard Time",
        "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        "Europe/Budapest"
    ),
    (
        "Romance Standard Time",
        "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris",
        "Europe/Paris"
    ),
    (
        "Central European Standard Time",
        "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb",
        "Europe/Warsaw"
    ),
    (
        "W. Central Africa Standard Time",
        "(UTC+01:00) West Central Africa",
        "Africa/Lagos"
    ),
    ("Jordan Standard Time", "(UTC+02:00) Amman", "Asia/Amman"),
    (
        "GTB Standard Time",
        "(UTC+02:00) Athens, Bucharest",
        "Europe/Bucharest"
    ),
    (
        "Middle East Standard Time",
        "(UTC+02:00) Beirut",
        "Asia/Beirut"
    ),
    ("Egypt Standard Time", "(UTC+02:00) Cairo", "Africa/Cairo"),
    (
        "E. Europe Standard Time",
        "(UTC+02:00) Chisinau",
        "Europe/Chisinau"
    ),
    (
        "Syria Standard Time",
        "(UTC+02:00) Damascus",
        "Asia/Damascus"
    ),
    (
        "West Bank Standard Time",
        "(UTC+02:00) Gaza, Hebron",
        "Asia/Hebron"
    ),
    (
        "South Africa Standard Time",
        "(UTC+02:00) Harare, Pretoria",
        "Africa/Johannesburg"
    ),
    (
        "FLE Standard Time",
        "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "Europe/Kyiv"
    ),
    (
        "Israel Standard Time",
        "(UTC+02:00) Jerusalem",
        "Asia/Jerusalem"
    ),
    (
        "South Sudan Standard Time",
        "(UTC+02:00) Juba",
        "Africa/Juba"
    ),
    (
        "Kaliningrad Standard Time",
        "(UTC+02:00) Kaliningrad",
        "Europe/Kaliningrad"
    ),
    (
        "Sudan Standard Time",
        "(UTC+02:00) Khartoum",
        "Africa/Khartoum"
    ),
    (
        "Libya Standard Time",
        "(UTC+02:00) Tripoli",
        "Africa/Tripoli"
    ),
    (
        "Namibia Standard Time",
        "(UTC+02:00) Windhoek",
        "Africa/Windhoek"
    ),
    (
        "Arabic Standard Time",
        "(UTC+03:00) Baghdad",
        "Asia/Baghdad"
    ),
    (
        "Turkey Standard Time",
        "(UTC+03:00) Istanbul",
        "Europe/Istanbul"
    ),
    (
        "Arab Standard Time",
        "(UTC+03:00) Kuwait, Riyadh",
        "Asia/Riyadh"
    ),
    ("Belarus Standard Time", "(UTC+03:00) Minsk", "Europe/Minsk"),
    (
        "Russian Standard Time",
        "(UTC+03:00) Moscow, St. Petersburg",
        "Europe/Moscow"
    ),
    (
        "E. Africa Standard Time",
        "(UTC+03:00) Nairobi",
        "Africa/Nairobi"
    ),
    (
        "Volgograd Standard Time",
        "(UTC+03:00) Volgograd",
        "Europe/Volgograd"
    ),
    ("Iran Standard Time", "(UTC+03:30) Tehran", "Asia/Tehran"),
    (
        "Arabian Standard Time",
        "(UTC+04:00) Abu Dhabi, Muscat",
        "Asia/Dubai"
    ),
    (
        "Astrakhan Standard Time",
        "(UTC+04:00) Astrakhan, Ulyanovsk",
        "Europe/Astrakhan"
    ),
    ("Azerbaijan Standard Time", "(UTC+04:00) Baku", "Asia/Baku"),
    (
        "Russia Time Zone 3",
        "(UTC+04:00) Izhevsk, Samara",
        "Europe/Samara"
    ),
    (
        "Mauritius Standard Time",
        "(UTC+04:00) Port Louis",
        "Indian/Mauritius"
    ),
    (
        "Saratov Standard Time",
        "(UTC+04:00) Saratov",
        "Europe/Saratov"
    ),
    (
        "Georgian Standard Time",
        "(UTC+04:00) Tbilisi",
        "Asia/Tbilisi"
    ),
    (
        "Caucasus Standard Time",
        "(UTC+04:00) Yerevan",
        "Asia/Yerevan"
    ),
    (
        "Afghanistan Standard Time",
        "(UTC+04:30) Kabul",
        "Asia/Kabul"
    ),
    (
        "West Asia Standard Time",
        "(UTC+05:00) Ashgabat, Tashkent",
        "Asia/Tashkent"
    ),
    (
        "Ekaterinburg Standard Time",
        "(UTC+05:00) Ekaterinburg",
        "Asia/Yekaterinburg"
    ),
    (
        "Pakistan Standard Time",
        "(UTC+05:00) Islamabad, Karachi",
        "Asia/Karachi"
    ),
    (
        "Qyzylorda Standard Time",
        "(UTC+05:00) Qyzylorda",
        "Asia/Qyzylorda"
    ),
    (
        "India Standard Time",
        "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi",
        "Asia/Kolkata"
    ),
    (
        "Sri Lanka Standard Time",
        "(UTC+05:30) Sri Jayawardenepura",
        "Asia/Colombo"
    ),
    (
        "Nepal Standard Time",
        "(UTC+05:45) Kathmandu",
        "Asia/Kathmandu"
    ),
    (
        "Central Asia Standard Time",
        "(UTC+06:00) Astana",
        "Asia/Almaty"
    ),
    (
        "Bangladesh Standard Time",
        "(UTC+06:00) Dhaka",
        "Asia/Dhaka"
    ),
    ("Omsk Standard Time", "(UTC+06:00) Omsk", "Asia/Omsk"),
    (
        "Myanmar Standard Time",
        "(UTC+06:30) Yangon (Rangoon)",
        "Asia/Yangon"
    ),
    (
        "SE Asia Standard Time",
        "(UTC+07:00) Bangkok, Hanoi, Jakarta",
        "Asia/Bangkok"
    ),
    (
        "Altai Standard Time",
        "(UTC+07:00) Barnaul, Gorno-Altaysk",
        "Asia/Barnaul"
    ),
    ("W. Mongolia Standard Time", "(UTC+07:00) Hovd", "Asia/Hovd"),
    (
        "North Asia Standard Time",
        "(UTC+07:00) Krasnoyarsk",
        "Asia/Krasnoyarsk"
    ),
    (
        "N. Central Asia Standard Time",
        "(UTC+07:00) Novosibirsk",
        "Asia/Novosibirsk"
    ),
    ("Tomsk Standard Time", "(UTC+07:00) Tomsk", "Asia/Tomsk"),
    (
        "China Standard Time",
        "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi",
        "Asia/Shanghai"
    ),
    (
        "North Asia East Standard Time",
        "(UTC+08:00) Irkutsk",
        "Asia/Irkutsk"
    ),
    (
        "Singapore Standard Time",
        "(UTC+08:00) Kuala Lumpur, Singapore",
        "Asia/Singapore"
    ),
    (
        "W. Australia Standard Time",
        "(UTC+08:00) Perth",
        "Australia/Perth"
    ),
    ("Taipei Standard Time", "(UTC+08:00) Taipei", "Asia/Taipei"),
    (
        "Ulaanbaatar Standard Time",
        "(UTC+08:00) Ulaanbaatar",
        "Asia/Ulaanbaatar"
    ),
    (
        "Aus Central W. Standard Time",
        "(UTC+08:45) Eucla",
        "Australia/Eucla"
    ),
    (
        "Transbaikal Standard Time",
        "(UTC+09:00) Chita",
        "Asia/Chita"
    ),
    (
        "Tokyo Standard Time",
        "(UTC+09:00) Osaka, Sapporo, Tokyo",
        "Asia/Tokyo"
    ),
    (
        "North Korea Standard Time",
        "(UTC+09:00) Pyongyang",
        "Asia/Pyongyang"
    ),
    ("Korea Standard Time", "(UTC+09:00) Seoul", "Asia/Seoul"),
    (
        "Yakutsk Standard Time",
        "(UTC+09:00) Yakutsk",
        "Asia/Yakutsk"
    ),
    (
        "Cen. Australia Standard Time",
        "(UTC+09:30) Adelaide",
        "Australia/Adelaide"
    ),
    (
        "AUS Central Standard Time",
        "(UTC+09:30) Darwin",
        "Australia/Darwin"
    ),
    (
        "E. Australia Standard Time",
        "(UTC+10:00) Brisbane",
        "Australia/Brisbane"
    ),
    (
        "AUS Eastern Standard Time",
        "(UTC+10:00) Canberra, Melbourne, Sydney",
        "Australia/Sydney"
    ),
    (
        "West Pacific Standard Time",
        "(UTC+10:00) Guam, Port Moresby",
        "Pacific/Port_Moresby"
    ),
    (
        "Tasmania Standard Time",
        "(UTC+10:00) Hobart",
        "Australia/Hobart"
    ),
    (
        "Vladivostok Standard Time",
        "(UTC+10:00) Vladivostok",
        "Asia/Vladivostok"
    ),
    (
        "Lord Howe Standard Time",
        "(UTC+10:30) Lord Howe Island",
        "Australia/Lord_Howe"
    ),
    (
        "Bougainville Standard Time",
        "(UTC+11:00) Bougainville Island",
        "Pacific/Bougainville"
    ),
    (
        "Russia Time Zone 10",
        "(UTC+11:00) Chokurdakh",
        "Asia/Srednekolymsk"
    ),
    (
        "Magadan Standard Time",
        "(UTC+11:00) Magadan",
        "Asia/Magadan"
    ),
    (
        "Norfolk Standard Time",
        "(UTC+11:00) Norfolk Island",
        "Pacific/Norfolk"
    ),
    (
        "Sakhalin Standard Time",
        "(UTC+11:00) Sakhalin",
        "Asia/Sakhalin"
    ),
    (
        "Central Pacific Standard Time",
        "(UTC+11:00) Solomon Is., New Caledonia",
        "Pacific/Guadalcanal"
    ),
    (
        "Russia Time Zone 11",
        "(UTC+12:00) Anadyr, Petropavlovsk-Kamchatsky",
        "Asia/Kamchatka"
    ),
    (
        "New Zealand Standard Time",
        "(UTC+12:00) Auckland, Wellington",
        "Pacific/Auckland"
    ),
    (
        "UTC+12",
        "(UTC+12:00) Coordinated Universal Time+12",
        "Etc/GMT-12"
    ),
    ("Fiji Standard Time", "(UTC+12:00) Fiji", "Pacific/Fiji"),
    (
        "Kamchatka Standard Time",
        "(UTC+12:00) Petropavlovsk-Kamchatsky - Old",
        "Asia/Kamchatka"
    ),
    (
        "Chatham Islands Standard Time",
        "(UTC+12:45) Chatham Islands",
        "Pacific/Chatham"
    ),
    (
        "UTC+13",
        "(UTC+13:00) Coordinated Universal Time+13",
        "Etc/GMT-13"
    ),
    (
        "Tonga Standard Time",
        "(UTC+13:00) Nuku'alofa",
        "Pacific/Tongatapu"
    ),
    ("Samoa Standard Time", "(UTC+13:00) Samoa", "Pacific/Apia"),
    (
        "Line Islands Standard Time",
        "(UTC+14:00) Kiritimati Island",
        "Pacific/Kiritimati"
    ),
];

/// Display names of older Windows versions whose cities or words are not
/// in the current table (XP / Vista / Windows 7 era), with the zone id.
const LEGACY: &[(&str, &str)] = &[
    (
        "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
        "GMT Standard Time",
    ),
    ("Athens, Beirut, Istanbul, Minsk", "GTB Standard Time"),
    ("Athens, Istanbul, Minsk", "GTB Standard Time"),
    ("Moscow, St. Petersburg, Volgograd", "Russian Standard Time"),
    ("Kyiv", "FLE Standard Time"),
    ("Kiev", "FLE Standard Time"),
    (
        "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "FLE Standard Time",
    ),
    (
        "Helsinki, Kiev, Riga, Sofia, Tallinn, Vilnius",
        "FLE Standard Time",
    ),
    ("Casablanca, Monrovia", "Greenwich Standard Time"),
    ("Casablanca, Monrovia, Reykjavik", "Greenwich Standard Time"),
    ("Harare, Pretoria", "South Africa Standard Time"),
    ("Buenos Aires, Georgetown", "SA Eastern Standard Time"),
    ("Buenos Aires", "Argentina Standard Time"),
    ("Georgetown, La Paz, San Juan", "SA Western Standard Time"),
    ("Manaus", "SA Western Standard Time"),
    ("Indiana (East)", "US Eastern Standard Time"),
    ("Mid-Atlantic", "Mid-Atlantic Standard Time"),
    ("Cape Verde Is.", "Cape Verde Standard Time"),
    ("Astana, Dhaka", "Central Asia Standard Time"),
    ("Almaty, Novosibirsk", "N. Central Asia Standard Time"),
    ("Yangon (Rangoon)", "Myanmar Standard Time"),
    ("Rangoon", "Myanmar Standard Time"),
    ("Kolkata, Chennai, Mumbai, New Delhi", "India Standard Time"),
    (
        "Calcutta, Chennai, Mumbai, New Delhi",
        "India Standard Time",
    ),
    ("Kathmandu", "Nepal Standard Time"),
    ("Kuala Lumpur, Singapore", "Singapore Standard Time"),
    ("Guam, Port Moresby", "West Pacific Standard Time"),
    (
        "Magadan, Solomon Is., New Caledonia",
        "Central Pacific Standard Time",
    ),
    ("Fiji, Kamchatka, Marshall Is.", "Fiji Standard Time"),
    ("Greenwich Mean Time", "GMT Standard Time"),
    ("Coordinated Universal Time", "UTC"),
];

/// How a TZID was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The zone's registry id (`W. Europe Standard Time`, or without
    /// ` Standard Time`).
    Id,
    /// The zone's display name (with or without the offset prefix).
    Display,
    /// Cities of the zone's display name, `n` of them.
    Cities(usize),
}

fn norm(s: &str) -> String {
    s.trim()
        .trim_matches('"')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Splits `(UTC+01:00) rest` / `(GMT+01.00) rest` / `(UTC) rest` into
/// the offset in minutes (when stated) and the rest.
fn split_prefix(s: &str) -> (Option<i32>, &str) {
    let t = s.trim_start();
    let Some(rest) = t.strip_prefix('(') else {
        return (None, t);
    };
    let Some((inside, after)) = rest.split_once(')') else {
        return (None, t);
    };
    let inside = inside.trim();
    let lower = inside.to_ascii_lowercase();
    let Some(off) = lower
        .strip_prefix("utc")
        .or_else(|| lower.strip_prefix("gmt"))
    else {
        return (None, t);
    };
    let off = off.trim();
    if off.is_empty() {
        return (Some(0), after.trim_start());
    }
    let (sign, digits) = match off.as_bytes().first() {
        Some(b'+') => (1, &off[1..]),
        Some(b'-') => (-1, &off[1..]),
        _ => return (None, t),
    };
    let (h, m) = digits.split_once([':', '.']).unwrap_or((digits, "0"));
    match (h.parse::<i32>(), m.parse::<i32>()) {
        (Ok(h), Ok(m)) => (Some(sign * (h * 60 + m)), after.trim_start()),
        _ => (None, t),
    }
}

fn offset_of(z: &WindowsZone) -> Option<i32> {
    split_prefix(z.display).0
}

fn cities(s: &str) -> Vec<String> {
    s.split([',', '/', ';', ':'])
        .map(norm)
        .filter(|c| !c.is_empty())
        .collect()
}

fn by_id(id: &str) -> Option<&'static WindowsZone> {
    ZONES.iter().find(|z| z.id == id)
}

/// The Windows zone a calendar's TZID names, and how it was matched.
pub fn zone_of(tzid: &str) -> Option<(&'static WindowsZone, Match)> {
    let whole = norm(tzid);
    let (offset, rest) = split_prefix(tzid);
    let rest_n = norm(rest);
    if rest_n.is_empty() {
        return None;
    }
    for z in ZONES {
        let id = z.id.to_lowercase();
        if whole == id || rest_n == id || id.strip_suffix(" standard time") == Some(&rest_n) {
            return Some((z, Match::Id));
        }
    }
    let offset_ok = |z: &WindowsZone| offset.is_none() || offset_of(z) == offset;
    for z in ZONES {
        let (_, d) = split_prefix(z.display);
        if (norm(d) == rest_n || norm(z.display) == whole) && offset_ok(z) {
            return Some((z, Match::Display));
        }
    }
    for (d, id) in LEGACY {
        if norm(d) == rest_n {
            if let Some(z) = by_id(id).filter(|z| offset.is_none() || offset_ok(z)) {
                return Some((z, Match::Display));
            }
        }
    }
    // Cities: the zone most of them name; ties to the first city's.
    let wanted = cities(rest);
    let mut best: Option<(&'static WindowsZone, usize, usize)> = None;
    for z in ZONES.iter().filter(|z| offset_ok(z)) {
        let (_, d) = split_prefix(z.display);
        let own = cities(d);
        let hits: Vec<usize> = wanted
            .iter()
            .enumerate()
            .filter(|(_, c)| own.contains(c))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = hits.first() else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, n, f)) => hits.len() > n || (hits.len() == n && first < f),
        };
        if better {
            best = Some((z, hits.len(), first));
        }
    }
    best.map(|(z, n, _)| (z, Match::Cities(n)))
}

/// The IANA zone of a Windows zone id or display name.
pub fn iana_of(tzid: &str) -> Option<&'static str> {
    zone_of(tzid).map(|(z, _)| z.iana)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calcard::common::timezone::Tz;
    use std::str::FromStr;

    #[test]
    fn every_zone_is_a_known_iana_zone_and_ids_are_unique() {
        let mut ids = std::collections::HashSet::new();
        for z in ZONES {
            assert!(ids.insert(z.id), "{} twice", z.id);
            match Tz::from_str(z.iana) {
                Ok(Tz::Tz(t)) => assert_eq!(t.name(), z.iana, "{}", z.id),
                _ => panic!("{}: {} is not an IANA zone", z.id, z.iana),
            }
            assert!(offset_of(z).is_some(), "{}", z.display);
            // Each zone is found by its own id and display name.
            assert_eq!(zone_of(z.id).map(|(x, _)| x.id), Some(z.id));
            assert_eq!(
                zone_of(z.display).map(|(x, _)| x.id),
                Some(z.id),
                "{}",
                z.display
            );
        }
        for (_, id) in LEGACY {
            assert!(by_id(id).is_some(), "{id}");
        }
        assert!(ZONES.len() >= 139, "{}", ZONES.len());
    }

    #[test]
    fn display_names_ids_and_cities() {
        // The Outlook Connector's merged list, folded over two lines.
        let kerio = "Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid,\r\n  Paris, Prague, Stockholm";
        let (z, m) = zone_of(kerio).expect("match");
        assert_eq!((z.iana, m), ("Europe/Berlin", Match::Cities(3)));
        assert_eq!(iana_of("W. Europe Standard Time"), Some("Europe/Berlin"));
        assert_eq!(iana_of("W. Europe"), Some("Europe/Berlin"));
        assert_eq!(
            iana_of("(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"),
            Some("Europe/Paris")
        );
        assert_eq!(
            iana_of("(GMT+01.00) Sarajevo / Skopje / Warsaw / Zagreb"),
            Some("Europe/Warsaw")
        );
        assert_eq!(
            iana_of("(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London"),
            Some("Europe/London")
        );
        assert_eq!(
            iana_of("\"Eastern Time (US & Canada)\""),
            Some("America/New_York")
        );
        assert_eq!(
            iana_of("(GMT-05:00) Eastern Time (US & Canada)"),
            Some("America/New_York")
        );
        assert_eq!(
            iana_of("Athens, Beirut, Istanbul, Minsk"),
            Some("Europe/Bucharest")
        );
        assert_eq!(
            iana_of("Canberra, Melbourne, Sydney"),
            Some("Australia/Sydney")
        );
        assert_eq!(iana_of("Osaka, Sapporo, Tokyo"), Some("Asia/Tokyo"));
        assert_eq!(iana_of("Prague"), Some("Europe/Budapest"));
        // A prefix offset that no candidate has: no match, no guess.
        assert_eq!(iana_of("(UTC+05:00) Amsterdam, Berlin"), None);
        assert_eq!(iana_of("Atlantis"), None);
        assert_eq!(iana_of(""), None);
        assert_eq!(iana_of("(UTC+01:00)"), None);
    }
}
