//! The uses of special mailboxes (RFC 6154: Sent, Trash, Junk, Drafts,
//! Archive, All, Flagged): their LIST attributes, Kerio's names for them and
//! the names IMAP clients in other languages give them.

use serde::Serialize;
use std::fmt;

/// The use of a special mailbox (RFC 6154).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SpecialUse {
    /// `\Sent`.
    Sent,
    /// `\Trash`.
    Trash,
    /// `\Junk`.
    Junk,
    /// `\Drafts`.
    Drafts,
    /// `\Archive`.
    Archive,
    /// `\All`.
    All,
    /// `\Flagged`.
    Flagged,
}

impl SpecialUse {
    /// Every use.
    pub const ALL: [SpecialUse; 7] = [
        SpecialUse::Sent,
        SpecialUse::Trash,
        SpecialUse::Junk,
        SpecialUse::Drafts,
        SpecialUse::Archive,
        SpecialUse::All,
        SpecialUse::Flagged,
    ];

    /// From a LIST attribute: `\Sent`, `\Trash`, `\Junk`, `\Drafts`,
    /// `\Archive`, `\All`, `\Flagged`, and the XLIST spellings `\Spam`,
    /// `\AllMail`, `\Starred` (case-insensitive; the backslash optional).
    pub fn from_attribute(attr: &str) -> Option<SpecialUse> {
        let a = attr.trim_start_matches('\\').to_ascii_lowercase();
        Some(match a.as_str() {
            "sent" => SpecialUse::Sent,
            "trash" => SpecialUse::Trash,
            "junk" | "spam" => SpecialUse::Junk,
            "drafts" => SpecialUse::Drafts,
            "archive" => SpecialUse::Archive,
            "all" | "allmail" => SpecialUse::All,
            "flagged" | "starred" => SpecialUse::Flagged,
            _ => return None,
        })
    }

    /// The LIST attribute (`\Sent`).
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::All => "\\All",
            SpecialUse::Flagged => "\\Flagged",
        }
    }

    /// Kerio's names for the folder of this use (research/kerio-store.md
    /// §1.8: the defaults and what IMAP clients such as Apple Mail create).
    pub fn kerio_names(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &["Sent Items", "Sent Messages", "Sent"],
            SpecialUse::Trash => &["Deleted Items", "Deleted Messages", "Trash"],
            SpecialUse::Junk => &["Junk E-mail", "Junk", "Spam"],
            SpecialUse::Drafts => &["Drafts"],
            SpecialUse::Archive | SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    /// The names IMAP clients in other languages give their own folder of
    /// this use, created beside Kerio's English one ("Duplication of
    /// default folders", Kerio Connect user guide): German, French,
    /// Spanish, Italian, Dutch, Polish, Russian, Czech, Portuguese,
    /// Japanese, Chinese. Compared without case and accents
    /// ([`super::fold_name`]).
    pub fn localized_names(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &[
                // de
                "Gesendete Objekte",
                "Gesendete Elemente",
                "Gesendete Nachrichten",
                "Gesendet",
                // fr
                "Éléments envoyés",
                "Messages envoyés",
                "Envoyés",
                "Envoyé",
                // es
                "Elementos enviados",
                "Mensajes enviados",
                "Enviados",
                "Enviado",
                // it
                "Posta inviata",
                "Elementi inviati",
                "Inviati",
                "Inviata",
                // nl
                "Verzonden items",
                "Verzonden berichten",
                "Verzonden",
                // pl
                "Elementy wysłane",
                "Wysłane",
                // ru
                "Отправленные",
                "Отправленные элементы",
                // cs
                "Odeslaná pošta",
                "Odeslané položky",
                "Odeslané",
                // pt
                "Itens enviados",
                "Mensagens enviadas",
                // ja
                "送信済みアイテム",
                "送信済みメール",
                "送信済み",
                // zh
                "已发送邮件",
                "已发送",
                "已傳送郵件",
                "已傳送",
                "寄件備份",
            ],
            SpecialUse::Trash => &[
                "Gelöschte Objekte",
                "Gelöschte Elemente",
                "Gelöschte Nachrichten",
                "Papierkorb",
                "Éléments supprimés",
                "Messages supprimés",
                "Corbeille",
                "Elementos eliminados",
                "Mensajes eliminados",
                "Papelera",
                "Eliminados",
                "Posta eliminata",
                "Elementi eliminati",
                "Cestino",
                "Verwijderde items",
                "Verwijderde berichten",
                "Prullenbak",
                "Verwijderd",
                "Elementy usunięte",
                "Kosz",
                "Usunięte",
                "Удаленные",
                "Удаленные элементы",
                "Корзина",
                "Odstraněná pošta",
                "Odstraněné položky",
                "Koš",
                "Itens excluídos",
                "Itens eliminados",
                "Lixeira",
                "Lixo",
                "Reciclagem",
                "削除済みアイテム",
                "削除済みメール",
                "ゴミ箱",
                "ごみ箱",
                "已删除邮件",
                "已删除",
                "已刪除郵件",
                "已刪除",
                "垃圾桶",
            ],
            SpecialUse::Junk => &[
                "Junk-E-Mail",
                "Unerwünscht",
                "Unerwünschte E-Mail",
                "Courrier indésirable",
                "Indésirables",
                "Pourriels",
                "Correo no deseado",
                "Correo basura",
                "Posta indesiderata",
                "Indesiderata",
                "Ongewenste e-mail",
                "Ongewenst",
                "Wiadomości-śmieci",
                "Niechciane",
                "Нежелательная почта",
                "Спам",
                "Nevyžádaná pošta",
                "Nevyžádaná",
                "Lixo eletrónico",
                "Lixo eletrônico",
                "Correio eletrónico de lixo",
                "迷惑メール",
                "垃圾邮件",
                "垃圾郵件",
            ],
            SpecialUse::Drafts => &[
                "Entwürfe",
                "Brouillons",
                "Borradores",
                "Bozze",
                "Concepten",
                "Wersje robocze",
                "Szkice",
                "Kopie robocze",
                "Черновики",
                "Koncepty",
                "Rozepsané",
                "Rascunhos",
                "下書き",
                "草稿",
                "草稿箱",
            ],
            SpecialUse::Archive | SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    /// Well-known target names, tried among existing mailboxes when the
    /// server has no SPECIAL-USE (imapsync `--automap` does the same).
    pub(super) fn well_known_targets(self) -> &'static [&'static str] {
        match self {
            SpecialUse::Sent => &["Sent", "Sent Items", "Sent Messages", "Sent Mail"],
            SpecialUse::Trash => &["Trash", "Deleted Items", "Deleted Messages", "Bin"],
            SpecialUse::Junk => &["Junk", "Spam", "Junk Email", "Junk E-mail", "Bulk Mail"],
            SpecialUse::Drafts => &["Drafts", "Draft"],
            SpecialUse::Archive => &["Archive", "Archives"],
            SpecialUse::All | SpecialUse::Flagged => &[],
        }
    }

    fn name(self) -> &'static str {
        match self {
            SpecialUse::Sent => "sent",
            SpecialUse::Trash => "trash",
            SpecialUse::Junk => "junk",
            SpecialUse::Drafts => "drafts",
            SpecialUse::Archive => "archive",
            SpecialUse::All => "all",
            SpecialUse::Flagged => "flagged",
        }
    }
}

impl fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
