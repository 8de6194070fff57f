//! What to do, per verdict, in English, French, Portuguese and Spanish (S14, S17).

use crate::Label;

/// A guidance language. Anything else falls back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    Pt,
    Es,
}

impl Lang {
    /// `"fr"`, `"fr-FR"`, `"pt_BR"`, `"ES"` … ; unknown → English.
    pub fn parse(tag: &str) -> Lang {
        let primary: String = tag
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        match primary.to_ascii_lowercase().as_str() {
            "fr" => Lang::Fr,
            "pt" => Lang::Pt,
            "es" => Lang::Es,
            _ => Lang::En,
        }
    }
}

const REPORT_PLACEHOLDER: &str = "{report}";

/// Short words that mark each language (accent-folded).
const STOPWORDS: [(Lang, &[&str]); 4] = [
    (
        Lang::En,
        &[
            "the", "your", "you", "is", "to", "and", "of", "for", "has", "been", "please", "we",
            "this", "with", "now", "will", "account", "payment", "it", "be",
        ],
    ),
    (
        Lang::Fr,
        &[
            "le", "les", "vous", "votre", "vos", "est", "des", "du", "une", "pour", "et", "sur",
            "avec", "nous", "ce", "dans", "pas", "compte", "paiement", "ete", "il",
        ],
    ),
    (
        Lang::Pt,
        &[
            "o",
            "os",
            "seu",
            "sua",
            "voce",
            "do",
            "da",
            "para",
            "com",
            "nao",
            "em",
            "uma",
            "foi",
            "conta",
            "pagamento",
            "e",
            "ao",
            "sera",
            "os",
        ],
    ),
    (
        Lang::Es,
        &[
            "el", "los", "las", "su", "tu", "usted", "es", "del", "para", "con", "en", "una", "ha",
            "cuenta", "pago", "y", "por", "sido", "tus",
        ],
    ),
];

/// The most likely of the four languages for `text` (stop-word vote; English when unsure).
/// Use it to pick the guidance language and to count campaigns by language.
pub fn detect_lang(text: &str) -> Lang {
    let folded = crate::text::fold(crate::text::truncate(text, 4096));
    let mut scores = [0usize; 4];
    for w in crate::text::words(&folded) {
        for (i, (_, list)) in STOPWORDS.iter().enumerate() {
            if list.contains(&w) {
                scores[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..4 {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    if scores[best] == 0 {
        Lang::En
    } else {
        STOPWORDS[best].0
    }
}

impl Lang {
    /// `"en"`, `"fr"`, `"pt"` or `"es"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Pt => "pt",
            Lang::Es => "es",
        }
    }
}

fn lines(label: Label, lang: Lang) -> &'static [&'static str] {
    use Label::*;
    use Lang::*;
    match (label, lang) {
        (Phishing, En) => &[
            "This message is a fake: do not click its links and do not reply.",
            "Do not type anything into the page it opens: no password, no code, no card or bank details.",
            "If you already typed your password, change it now in the app and sign out of all devices.",
            "If you gave card or bank details, call your bank now on the number printed on your card.",
            "Forward the message to {report}, then delete it.",
        ],
        (Phishing, Fr) => &[
            "Ce message est une arnaque : ne cliquez sur aucun lien et ne répondez pas.",
            "Ne saisissez rien sur la page qu'il ouvre : ni mot de passe, ni code, ni données de carte ou bancaires.",
            "Si vous avez déjà saisi votre mot de passe, changez-le maintenant dans l'application et déconnectez tous les appareils.",
            "Si vous avez donné des données de carte ou bancaires, appelez votre banque au numéro inscrit sur votre carte.",
            "Transférez le message à {report}, puis supprimez-le.",
        ],
        (Phishing, Pt) => &[
            "Esta mensagem é falsa: não clique nos links e não responda.",
            "Não escreva nada na página que ela abre: nem palavra-passe, nem código, nem dados do cartão ou bancários.",
            "Se já escreveu a sua palavra-passe, altere-a agora na aplicação e termine a sessão em todos os dispositivos.",
            "Se deu dados do cartão ou bancários, ligue já para o seu banco pelo número que está no cartão.",
            "Reencaminhe a mensagem para {report} e depois apague-a.",
        ],
        (Phishing, Es) => &[
            "Este mensaje es falso: no pulse sus enlaces y no responda.",
            "No escriba nada en la página que abre: ni contraseña, ni código, ni datos de tarjeta o bancarios.",
            "Si ya escribió su contraseña, cámbiela ahora en la aplicación y cierre la sesión en todos los dispositivos.",
            "Si dio datos de tarjeta o bancarios, llame ya a su banco al número que figura en su tarjeta.",
            "Reenvíe el mensaje a {report} y después bórrelo.",
        ],
        (Suspicious, En) => &[
            "This message may be a fake: do not click its links.",
            "Open the app or type the address yourself to check your account; we never ask for a password, card or bank details in a message.",
            "If you already typed your password, change it now and sign out of all devices; if you gave payment details, call your bank.",
            "Forward the message to {report} so we can check it.",
        ],
        (Suspicious, Fr) => &[
            "Ce message est peut-être une arnaque : ne cliquez pas sur ses liens.",
            "Ouvrez l'application ou tapez l'adresse vous-même pour vérifier votre compte ; nous ne demandons jamais de mot de passe, de carte ni de données bancaires par message.",
            "Si vous avez déjà saisi votre mot de passe, changez-le et déconnectez tous les appareils ; si vous avez donné des données de paiement, appelez votre banque.",
            "Transférez le message à {report} pour que nous le vérifiions.",
        ],
        (Suspicious, Pt) => &[
            "Esta mensagem pode ser falsa: não clique nos links.",
            "Abra a aplicação ou escreva o endereço para verificar a sua conta; nunca pedimos palavra-passe, cartão ou dados bancários numa mensagem.",
            "Se já escreveu a sua palavra-passe, altere-a e termine a sessão em todos os dispositivos; se deu dados de pagamento, ligue para o seu banco.",
            "Reencaminhe a mensagem para {report} para a verificarmos.",
        ],
        (Suspicious, Es) => &[
            "Este mensaje puede ser falso: no pulse sus enlaces.",
            "Abra la aplicación o escriba usted la dirección para revisar su cuenta; nunca pedimos contraseña, tarjeta ni datos bancarios en un mensaje.",
            "Si ya escribió su contraseña, cámbiela y cierre la sesión en todos los dispositivos; si dio datos de pago, llame a su banco.",
            "Reenvíe el mensaje a {report} para que lo revisemos.",
        ],
        (Legitimate, En) => &[
            "Nothing in this message looks like a fake.",
            "Still: we never ask for your password, card or bank details in a message, and a code we send is typed only in the app or on the device you are signing in.",
            "If something feels wrong, forward it to {report}.",
        ],
        (Legitimate, Fr) => &[
            "Rien dans ce message ne ressemble à une arnaque.",
            "Rappel : nous ne demandons jamais votre mot de passe, votre carte ni vos données bancaires par message, et un code que nous envoyons se saisit uniquement dans l'application ou sur l'appareil que vous connectez.",
            "En cas de doute, transférez-le à {report}.",
        ],
        (Legitimate, Pt) => &[
            "Nada nesta mensagem parece falso.",
            "Lembre-se: nunca pedimos a palavra-passe, o cartão ou dados bancários numa mensagem, e um código que enviamos só se escreve na aplicação ou no dispositivo em que está a entrar.",
            "Se algo lhe parecer estranho, reencaminhe-a para {report}.",
        ],
        (Legitimate, Es) => &[
            "Nada en este mensaje parece falso.",
            "Recuerde: nunca pedimos su contraseña, tarjeta ni datos bancarios en un mensaje, y un código que enviamos solo se escribe en la aplicación o en el dispositivo en el que inicia sesión.",
            "Si algo le parece raro, reenvíelo a {report}.",
        ],
    }
}

/// Default wording for the reporting address when none is configured.
fn default_report(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "the reporting address in the app",
        Lang::Fr => "l'adresse de signalement indiquée dans l'application",
        Lang::Pt => "o endereço de denúncia indicado na aplicação",
        Lang::Es => "la dirección de denuncia indicada en la aplicación",
    }
}

/// What to do about a message with this verdict, in `lang` (`en`, `fr`, `pt`, `es`;
/// anything else gives English). One sentence per item.
pub fn guidance(label: Label, lang: &str) -> Vec<String> {
    guidance_with_address(label, lang, None)
}

/// As [`guidance`], naming the platform's reporting address (e.g. `phishing@streamco.com`).
pub fn guidance_with_address(
    label: Label,
    lang: &str,
    report_address: Option<&str>,
) -> Vec<String> {
    let lang = Lang::parse(lang);
    let report = report_address.unwrap_or_else(|| default_report(lang));
    lines(label, lang)
        .iter()
        .map(|l| l.replace(REPORT_PLACEHOLDER, report))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_and_language_has_guidance() {
        for label in [Label::Phishing, Label::Suspicious, Label::Legitimate] {
            for lang in ["en", "fr", "pt", "es"] {
                let g = guidance(label, lang);
                assert!(g.len() >= 3);
                assert!(g.iter().all(|l| !l.contains('{')));
            }
        }
    }

    #[test]
    fn detects_the_four_languages() {
        assert_eq!(
            detect_lang("Your payment has failed, please update your card"),
            Lang::En
        );
        assert_eq!(
            detect_lang("Votre paiement a été refusé, mettez à jour votre carte"),
            Lang::Fr
        );
        assert_eq!(
            detect_lang("O seu pagamento falhou, atualize o seu cartão"),
            Lang::Pt
        );
        assert_eq!(
            detect_lang("Tu pago ha sido rechazado, actualiza tu tarjeta"),
            Lang::Es
        );
        assert_eq!(detect_lang("123 456"), Lang::En);
    }

    #[test]
    fn falls_back_to_english_and_names_the_address() {
        assert_eq!(
            guidance(Label::Phishing, "de"),
            guidance(Label::Phishing, "en")
        );
        assert_eq!(Lang::parse("pt-BR"), Lang::Pt);
        let g = guidance_with_address(Label::Phishing, "fr", Some("phishing@streamco.example"));
        assert!(g.iter().any(|l| l.contains("phishing@streamco.example")));
        assert!(g.iter().any(|l| l.contains("banque")));
    }
}
