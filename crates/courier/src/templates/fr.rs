//! French wording.

use super::{Lang, Text};

pub(crate) static LANG: Lang = Lang {
    device_types: ["téléviseur", "téléphone", "tablette", "ordinateur", "console de jeu", "appareil"],
    near: " près de {place}",
    code_not_you: "Si vous n'êtes pas à l'origine de cette demande, ne partagez ce code avec personne, pas même avec quelqu'un qui dit travailler pour {service}.",
    not_you: &[
        "Si ce n'était pas vous : ouvrez vous-même l'application ou le site {service}, jamais depuis un message. Allez dans Appareils et déconnectez tout appareil que vous ne connaissez pas.",
        "Changez ensuite votre mot de passe à cet endroit.",
    ],
    never: "{service} ne vous demandera jamais votre mot de passe, votre numéro de carte ou vos coordonnées bancaires dans un message, et ce message ne contient aucun lien.",
    sms_never: "{service} ne demande jamais votre mot de passe par message.",
    codes: [
        Text {
            subject: "Votre code {service} pour vérifier un appareil",
            lines: &[
                "L'appareil « {device} » ({device_type}){place} veut regarder avec votre compte {service} et attend votre accord.",
                "Pour l'accepter, tapez ce code sur cet appareil :",
                "{code}",
                "Il ne sert qu'une fois, uniquement sur cet appareil, pendant {minutes} minutes.",
            ],
            sms: "{service} : {code} est le code pour accepter l'appareil « {device} » ({device_type}) sur votre compte. Valable {minutes} min. Pas vous ? Ne le partagez pas.",
        },
        Text {
            subject: "Votre code de connexion {service}",
            lines: &[
                "Vous avez demandé un code de connexion à usage unique pour l'appareil « {device} » ({device_type}){place}, pour qu'il se connecte sans votre mot de passe.",
                "Remettez ce code à la personne qui utilise cet appareil :",
                "{code}",
                "Il ne sert qu'une fois, uniquement sur cet appareil, pendant {minutes} minutes.",
            ],
            sms: "{service} : {code} est le code de connexion à usage unique pour l'appareil « {device} » ({device_type}). Valable {minutes} min. Pas vous ? Ne le partagez pas.",
        },
        Text {
            subject: "Votre code de récupération de compte {service}",
            lines: &[
                "Quelqu'un a demandé à récupérer votre compte {service} depuis l'appareil « {device} » ({device_type}){place}.",
                "Si c'était vous, tapez ce code sur cet appareil pour continuer :",
                "{code}",
                "Il ne sert qu'une fois, uniquement sur cet appareil, pendant {minutes} minutes. Une fois la récupération terminée, tous les appareils sont déconnectés.",
            ],
            sms: "{service} : {code} est votre code de récupération de compte, demandé depuis l'appareil « {device} » ({device_type}). Valable {minutes} min. Pas vous ? Ne le partagez pas.",
        },
        Text {
            subject: "Votre code {service} pour déménager votre foyer",
            lines: &[
                "L'appareil « {device} » ({device_type}){place} a demandé que sa connexion devienne le domicile de votre foyer {service}.",
                "Pour accepter ce changement, tapez ce code sur cet appareil :",
                "{code}",
                "Il ne sert qu'une fois, uniquement sur cet appareil, pendant {minutes} minutes.",
            ],
            sms: "{service} : {code} est le code pour déplacer votre foyer vers la connexion de l'appareil « {device} » ({device_type}). Valable {minutes} min. Pas vous ? Ne le partagez pas.",
        },
        Text {
            subject: "Votre code {service} de pass voyage",
            lines: &[
                "L'appareil « {device} » ({device_type}){place} a demandé un pass voyage : il pourrait alors regarder hors du domicile pendant {days} jours.",
                "Pour démarrer le pass, tapez ce code sur cet appareil :",
                "{code}",
                "Il ne sert qu'une fois, uniquement sur cet appareil, pendant {minutes} minutes.",
            ],
            sms: "{service} : {code} est le code pour démarrer un pass voyage de {days} jours sur l'appareil « {device} » ({device_type}). Valable {minutes} min. Pas vous ? Ne le partagez pas.",
        },
    ],
    notices: [
        Text {
            subject: "Un nouvel appareil à la maison sur votre compte {service}",
            lines: &[
                "L'appareil « {device} » ({device_type}) s'est connecté à votre compte {service} le {when}, depuis la connexion de votre domicile{place}.",
                "Si vous connaissez cet appareil, vous n'avez rien à faire.",
            ],
            sms: "{service} : l'appareil « {device} » ({device_type}) s'est connecté à la maison le {when}. Rien à faire si vous le connaissez.",
        },
        Text {
            subject: "Nouvelle connexion hors du domicile sur votre compte {service}",
            lines: &[
                "L'appareil « {device} » ({device_type}) s'est connecté à votre compte {service} le {when}{place}, hors de la connexion de votre domicile.",
                "Si c'était vous ou quelqu'un de votre foyer, vous n'avez rien à faire.",
            ],
            sms: "{service} : l'appareil « {device} » ({device_type}) s'est connecté hors du domicile{place} le {when}. Pas vous ? Ouvrez vous-même l'application et vérifiez Appareils.",
        },
        Text {
            subject: "{count} appareils se sont connectés à votre compte {service}",
            lines: &[
                "{count} appareils se sont connectés à votre compte {service} depuis le {when}. Le dernier est l'appareil « {device} » ({device_type}){place}.",
                "Autant de connexions à la fois signifient souvent que le compte est partagé hors de votre foyer.",
            ],
            sms: "{service} : {count} appareils se sont connectés à votre compte depuis le {when}. Pas vous ? Ouvrez vous-même l'application et vérifiez Appareils.",
        },
        Text {
            subject: "Le mot de passe de votre compte {service} a été changé",
            lines: &[
                "Le mot de passe de votre compte {service} a été changé le {when} depuis l'appareil « {device} » ({device_type}){place}.",
                "Vos autres appareils ont été déconnectés.",
            ],
            sms: "{service} : le mot de passe de votre compte a été changé le {when}. Pas vous ? Ouvrez vous-même l'application et récupérez votre compte.",
        },
        Text {
            subject: "Le mot de passe de votre compte {service} a été réinitialisé",
            lines: &[
                "Le mot de passe de votre compte {service} a été réinitialisé avec un code de récupération le {when}, depuis l'appareil « {device} » ({device_type}){place}.",
                "Tous les appareils ont été déconnectés.",
            ],
            sms: "{service} : le mot de passe de votre compte a été réinitialisé le {when}. Pas vous ? Ouvrez vous-même l'application et récupérez votre compte.",
        },
        Text {
            subject: "Le contact de récupération de votre compte {service} a changé",
            lines: &[
                "Le numéro de téléphone ou l'adresse e-mail de récupération de votre compte {service} a été changé le {when}, depuis l'appareil « {device} » ({device_type}){place}.",
                "Les codes de récupération vont désormais au nouveau contact.",
            ],
            sms: "{service} : le contact de récupération de votre compte a été changé le {when}. Pas vous ? Ouvrez vous-même l'application et vérifiez votre compte.",
        },
        Text {
            subject: "Tous les appareils ont été déconnectés de votre compte {service}",
            lines: &[
                "Tous les appareils ont été déconnectés de votre compte {service} le {when}, à la demande de l'appareil « {device} » ({device_type}){place}.",
                "Chaque appareil se reconnecte avec votre mot de passe ou un code de connexion à usage unique.",
            ],
            sms: "{service} : tous les appareils ont été déconnectés de votre compte le {when}. Pas vous ? Ouvrez vous-même l'application et vérifiez votre compte.",
        },
        Text {
            subject: "Votre compte {service} semble partagé",
            lines: &[
                "Depuis le {when}, votre compte {service} est utilisé depuis plus d'un domicile. Le dernier appareil est « {device} » ({device_type}){place}.",
                "Les appareils hors de votre foyer devront se vérifier avec un code qui vous sera envoyé.",
            ],
            sms: "{service} : votre compte semble utilisé hors de votre foyer. Ouvrez vous-même l'application et vérifiez Appareils.",
        },
        Text {
            subject: "Votre compte {service} est utilisé par de nombreuses personnes",
            lines: &[
                "Depuis le {when}, votre compte {service} est utilisé par de nombreux appareils en de nombreux endroits, comme lorsqu'un compte est revendu. Le dernier appareil est « {device} » ({device_type}){place}.",
                "Les nouveaux appareils devront être vérifiés avec un code qui vous sera envoyé.",
            ],
            sms: "{service} : votre compte est utilisé par de nombreux appareils en de nombreux endroits. Ouvrez vous-même l'application, vérifiez Appareils et changez-y votre mot de passe.",
        },
        Text {
            subject: "Un appareil doit se vérifier sur votre compte {service}",
            lines: &[
                "L'appareil « {device} » ({device_type}) a voulu regarder avec votre compte {service} le {when}{place}, hors de votre foyer, et doit se vérifier.",
                "S'il fait partie de votre foyer, acceptez-le avec le code que nous vous enverrons à sa demande. Sinon, vous n'avez rien à faire : il ne peut pas regarder sans ce code.",
            ],
            sms: "{service} : l'appareil « {device} » ({device_type}) doit se vérifier ({when}{place}). Il ne peut pas regarder sans le code qui vous est envoyé.",
        },
        Text {
            subject: "Un appareil a choisi de se vérifier plus tard sur votre compte {service}",
            lines: &[
                "L'appareil « {device} » ({device_type}) a choisi de se vérifier plus tard le {when}{place} : il peut regarder pendant un temps limité, puis devra se vérifier avec un code qui vous sera envoyé.",
                "Si vous connaissez cet appareil, vous n'avez rien à faire.",
            ],
            sms: "{service} : l'appareil « {device} » ({device_type}) a choisi de se vérifier plus tard le {when}. Il devra bientôt se vérifier avec votre code.",
        },
        Text {
            subject: "Un appareil a été vérifié sur votre compte {service}",
            lines: &[
                "L'appareil « {device} » ({device_type}) a été vérifié avec un code le {when}{place} et peut désormais regarder avec votre compte {service}.",
                "Si vous n'avez remis ce code à personne, déconnectez cet appareil.",
            ],
            sms: "{service} : l'appareil « {device} » ({device_type}) a été vérifié le {when}. Pas vous ? Ouvrez vous-même l'application et vérifiez Appareils.",
        },
        Text {
            subject: "Quelqu'un a essayé de nombreux mots de passe sur votre compte {service}",
            lines: &[
                "Depuis le {when}, {count} tentatives de connexion à votre compte {service} ont échoué avec un mauvais mot de passe. C'est ce qui arrive quand des listes de mots de passe volés sur d'autres sites sont essayées sur de nombreux comptes.",
                "La connexion par mot de passe est suspendue pour un moment ; vos appareils déjà connectés continuent de fonctionner. Si vous utilisez le même mot de passe sur un autre site, changez-le là-bas et ici : ouvrez vous-même l'application ou le site et allez dans les réglages du mot de passe.",
            ],
            sms: "{service} : {count} mauvais mots de passe essayés sur votre compte depuis le {when}. Vos appareils connectés fonctionnent. Si ce mot de passe sert ailleurs, ouvrez vous-même l'application et changez-le.",
        },
    ],
};
