//! The cue phrase tables, in English, French, Portuguese and Spanish (accent-folded,
//! lowercase). Syntax: `|` alternatives, trailing `*` prefix, space = next word within two.

use crate::ReasonCode;

pub(super) struct CueDef {
    pub(super) reason: ReasonCode,
    /// Negated sentences turn this cue into [`ReasonCode::SafetyNotice`].
    pub(super) negatable: bool,
    pub(super) groups: &'static [&'static [&'static str]],
}

#[rustfmt::skip]
pub(super) const PAY_OBJ: &[&str] = &[
    "payment*", "billing", "card", "charge", "transaction", "subscription", "renewal", "invoice",
    "direct debit", "paiement*", "prelevement*", "carte", "abonnement", "facturation", "facture",
    "transaccion", "pagamento*", "cobranca", "cartao", "assinatura", "fatura", "mensalidade",
    "debito", "pago", "pagos", "cobro", "tarjeta", "suscripcion", "factura", "domiciliacion",
];
#[rustfmt::skip]
pub(super) const FAIL: &[&str] = &[
    "fail*", "declin*", "unsuccessful", "reject*", "problem", "issue", "unable", "could not",
    "couldn t", "not processed", "not be processed", "expired", "overdue", "unpaid", "outstanding",
    "echou*", "echec", "refus*", "rejet*", "impossible", "probleme", "expire*", "impaye*", "falh*",
    "recusad*", "rejeitad*", "problema", "nao foi possivel", "pendente", "em atraso", "expirad*",
    "fall*", "rechazad*", "no se pudo", "no ha podido", "caducad*", "pendiente", "vencid*",
    "impagad*",
];
#[rustfmt::skip]
pub(super) const ACCOUNT_OBJ: &[&str] = &[
    "account", "membership", "subscription", "service", "access", "profile", "compte", "abonnement",
    "acces", "adhesion", "conta", "assinatura", "acesso", "servico", "perfil", "cuenta",
    "suscripcion", "acceso", "servicio", "membresia",
];
#[rustfmt::skip]
pub(super) const SUSPEND: &[&str] = &[
    "suspen*", "block*", "locked", "lock", "disabled", "deactivat*", "terminat*", "closed",
    "on hold", "cancel*", "restricted", "limited", "paused", "bloqu*", "desactiv*", "ferme*",
    "resili*", "annul*", "interromp*", "encerrad*", "cancelad*", "pausad*", "restrint*", "limitad*",
    "cerrad*", "inhabilit*", "deshabilit*", "interrumpid*",
];
#[rustfmt::skip]
pub(super) const UPDATE_VERB: &[&str] = &[
    "update*", "renew", "re enter", "reenter", "add", "change", "mettre a jour", "mettez a jour",
    "actualis*", "renouvel*", "atualiz*", "renov*", "altere", "actualiz*", "cambi*", "modifi*",
];
#[rustfmt::skip]
pub(super) const PAY_METHOD: &[&str] = &[
    "payment*", "billing", "card", "paiement*", "carte", "bancaire*", "facturation", "pagamento*",
    "cartao", "cobranca", "faturacao", "pago", "tarjeta", "facturacion", "metodo de pago",
    "forma de pago",
];
#[rustfmt::skip]
pub(super) const CONFIRM_VERB: &[&str] = &[
    "confirm*", "verify", "verif*", "validat*", "validez", "valider", "authenticat*", "confirmez",
    "confirmer", "verifiez", "verifier", "confirme", "confirmar", "verifique", "verificar",
    "valide", "validar", "confirma", "verifica", "reactivat*", "reactiv*",
];
#[rustfmt::skip]
pub(super) const DETAILS_OBJ: &[&str] = &[
    "details", "information", "info", "identity", "account", "data", "informations", "coordonnees",
    "identite", "donnees", "compte", "dados", "informacoes", "identidade", "conta", "datos",
    "informacion", "identidad", "cuenta",
];
#[rustfmt::skip]
pub(super) const URGENT: &[&str] = &[
    "24 hours", "48 hours", "24h", "48h", "24hrs", "24 hrs", "immediately", "urgent*", "asap",
    "last warning", "last notice", "last chance", "final notice", "final warning", "final reminder",
    "action required", "expires today", "before midnight", "right away", "as soon as possible",
    "within 24", "within 48", "within 12", "24 heures", "48 heures", "immediatement",
    "dernier avis", "dernier rappel", "derniere relance", "sans delai", "au plus vite",
    "avant minuit", "24 horas", "48 horas", "imediatamente", "ultimo aviso", "o mais rapido",
    "sem demora", "prazo", "inmediatamente", "lo antes posible", "cuanto antes", "sin demora",
    "plazo",
];
#[rustfmt::skip]
pub(super) const REQ_VERB: &[&str] = &[
    "enter", "confirm*", "verify", "provide", "send", "reply", "type", "update*", "submit", "give",
    "ask*", "share", "input", "log in", "login", "sign in", "request*", "saisi*", "entrez",
    "entrer", "indiqu*", "communiqu*", "renseign*", "envoy*", "fourni*", "transmet*", "demand*",
    "partag*", "verifi*", "mettre a jour", "inform*", "digit*", "insir*", "envi*", "introduz*",
    "forne*", "pedi*", "pede*", "solicit*", "partilh*", "compartilh*", "atualiz*", "introduc*",
    "introduzca", "ingres*", "escrib*", "actualiz*", "facilit*", "proporcion*", "compart*",
    "valid*",
];
#[rustfmt::skip]
pub(super) const PASSWORD_OBJ: &[&str] = &[
    "password*", "passcode", "login details", "credentials", "mot de passe", "mdp", "identifiants",
    "senha*", "palavra passe", "credenciais", "contrasena*", "clave", "credenciales",
];
#[rustfmt::skip]
pub(super) const SEND_BACK_VERB: &[&str] = &[
    "send", "reply*", "forward", "share", "give", "tell", "envoy*", "transmet*", "repond*",
    "partag*", "communiqu*", "donn*", "envi*", "respond*", "partilh*", "compartilh*", "repass*",
    "diga", "compart*", "reenvi*", "dile", "dig*",
];
#[rustfmt::skip]
pub(super) const PAY_VERB: &[&str] = &[
    "pay", "payez", "payer", "reglez", "regler", "pague", "pagar", "paga", "pagues", "efetue o pagamento",
    "settle",
];
#[rustfmt::skip]
pub(super) const FEE_OBJ: &[&str] = &[
    "fee", "fees", "customs", "shipping", "delivery", "postage", "frais", "douane", "livraison",
    "taxa", "taxas", "portes", "alfandega", "envio", "entrega", "tasa", "tasas", "aduana", "gastos",
];
/// Someone the victim is told to hand a code to.
#[rustfmt::skip]
pub(super) const AGENT_OBJ: &[&str] = &[
    "agent", "advisor", "adviser", "operator", "representative", "support team", "conseiller",
    "operateur", "agente", "operador", "atendente", "assistente", "asesor", "representante",
];
pub(super) const CODE_OBJ: &[&str] = &["code", "codes", "otp", "pin", "codigo", "codigos", "cod"];
#[rustfmt::skip]
pub(super) const CARD_DETAIL: &[&str] = &[
    "cvv", "cvc", "cvv2", "card number", "security code", "expiry date", "expiration date",
    "numero de carte", "cryptogramme", "date d expiration", "numero do cartao",
    "codigo de seguranca", "data de validade", "numero de tarjeta", "codigo de seguridad",
    "fecha de caducidad", "fecha de vencimiento", "card details", "donnees de carte",
    "dados do cartao", "datos de la tarjeta", "datos de tu tarjeta", "dados de cartao",
];
#[rustfmt::skip]
pub(super) const BANK_OBJ: &[&str] = &[
    "iban", "bank details", "bank account", "online banking", "bank login", "sort code",
    "routing number", "coordonnees bancaires", "rib", "compte bancaire", "dados bancarios",
    "conta bancaria", "homebanking", "nib", "datos bancarios", "cuenta bancaria", "banca online",
    "banca en linea",
];
#[rustfmt::skip]
pub(super) const PERSONAL_OBJ: &[&str] = &[
    "date of birth", "social security", "ssn", "national insurance", "passport", "id number",
    "driving licence", "date de naissance", "securite sociale", "carte d identite",
    "data de nascimento", "nif", "cpf", "cartao de cidadao", "numero de contribuinte",
    "fecha de nacimiento", "dni", "nie", "numero de identificacion", "seguridad social",
    "pasaporte", "passaporte",
];
#[rustfmt::skip]
pub(super) const PRIZE: &[&str] = &[
    "you have won", "you ve won", "you won", "winner", "congratulations", "prize", "claim your",
    "refund", "reward", "cash prize", "free gift", "felicitations", "vous avez gagne", "gagnant",
    "remboursement", "cadeau", "recompense", "parabens", "ganhou", "premio", "reembolso",
    "recompensa", "brinde", "felicidades", "enhorabuena", "has ganado", "ganador", "regalo",
];

pub(super) const CUES: &[CueDef] = &[
    CueDef {
        reason: ReasonCode::PaymentProblem,
        negatable: false,
        groups: &[PAY_OBJ, FAIL],
    },
    CueDef {
        reason: ReasonCode::AccountSuspended,
        negatable: false,
        groups: &[ACCOUNT_OBJ, SUSPEND],
    },
    CueDef {
        reason: ReasonCode::UpdatePayment,
        negatable: false,
        groups: &[UPDATE_VERB, PAY_METHOD],
    },
    CueDef {
        reason: ReasonCode::ConfirmDetails,
        negatable: false,
        groups: &[CONFIRM_VERB, DETAILS_OBJ],
    },
    CueDef {
        reason: ReasonCode::Urgency,
        negatable: false,
        groups: &[URGENT],
    },
    CueDef {
        reason: ReasonCode::AsksPassword,
        negatable: true,
        groups: &[REQ_VERB, PASSWORD_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksPassword,
        negatable: true,
        groups: &[SEND_BACK_VERB, CODE_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksPassword,
        negatable: true,
        groups: &[SEND_BACK_VERB, AGENT_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksCard,
        negatable: true,
        groups: &[CARD_DETAIL],
    },
    CueDef {
        reason: ReasonCode::AsksBank,
        negatable: true,
        groups: &[REQ_VERB, BANK_OBJ],
    },
    CueDef {
        reason: ReasonCode::AsksPersonalData,
        negatable: true,
        groups: &[REQ_VERB, PERSONAL_OBJ],
    },
    CueDef {
        reason: ReasonCode::FeeRequest,
        negatable: false,
        groups: &[PAY_VERB, FEE_OBJ],
    },
    CueDef {
        reason: ReasonCode::PrizeOrRefund,
        negatable: false,
        groups: &[PRIZE],
    },
];

/// Words that negate a request in the same sentence.
#[rustfmt::skip]
pub(super) const NEGATIONS: &[&str] = &[
    "never", "not", "don", "dont", "no", "jamais", "pas", "nunca", "nao", "jamas", "nem", "ni",
];

/// Words that announce a one-time code.
pub const CODE_WORDS: &[&str] = &["code", "codigo", "cod", "otp", "pin", "passcode", "token"];

/// Verbs right before a one-time code ("use 220931 to sign in").
#[rustfmt::skip]
pub const CODE_VERBS: &[&str] = &[
    "use", "enter", "type", "utilisez", "saisissez", "entrez", "utilize", "use", "introduza", "insira",
    "digite", "usa", "utiliza", "introduce", "ingresa", "escribe",
];
