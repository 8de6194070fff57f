//! English wording.

use super::{Lang, Text};

pub(crate) static LANG: Lang = Lang {
    device_types: ["TV", "phone", "tablet", "computer", "game console", "device"],
    near: " near {place}",
    code_not_you: "If you did not ask for this, do not share the code with anyone, not even with someone who says they work for {service}.",
    not_you: &[
        "If this was not you: open the {service} app or the {service} site yourself, never from a message. Go to Devices and sign out every device you do not know.",
        "Then change your password there.",
    ],
    never: "{service} will never ask for your password, card number or bank details in a message, and this message contains no link.",
    sms_never: "{service} never asks for your password by message.",
    codes: [
        Text {
            subject: "Your {service} code to verify a device",
            lines: &[
                "The {device_type} “{device}”{place} wants to watch with your {service} account and needs your approval.",
                "To approve it, type this code on that {device_type}:",
                "{code}",
                "It works once, only on that device, for {minutes} minutes.",
            ],
            sms: "{service}: {code} is the code to approve the {device_type} \"{device}\" on your account. Valid {minutes} min. Not you? Do not share it.",
        },
        Text {
            subject: "Your {service} sign-in code",
            lines: &[
                "You asked for a one-time sign-in code for the {device_type} “{device}”{place}, so it can sign in without your password.",
                "Hand this code to the person using that {device_type}:",
                "{code}",
                "It works once, only on that device, for {minutes} minutes.",
            ],
            sms: "{service}: {code} is the one-time sign-in code for the {device_type} \"{device}\". Valid {minutes} min. Not you? Do not share it.",
        },
        Text {
            subject: "Your {service} account recovery code",
            lines: &[
                "Someone asked to recover your {service} account from the {device_type} “{device}”{place}.",
                "If it was you, type this code on that {device_type} to continue:",
                "{code}",
                "It works once, only on that device, for {minutes} minutes. When the recovery is complete, every device is signed out.",
            ],
            sms: "{service}: {code} is your account recovery code, asked from the {device_type} \"{device}\". Valid {minutes} min. Not you? Do not share it.",
        },
        Text {
            subject: "Your {service} code to move your household",
            lines: &[
                "The {device_type} “{device}”{place} asked to make its connection the home of your {service} household.",
                "To confirm the move, type this code on that {device_type}:",
                "{code}",
                "It works once, only on that device, for {minutes} minutes.",
            ],
            sms: "{service}: {code} is the code to move your household to the connection of the {device_type} \"{device}\". Valid {minutes} min. Not you? Do not share it.",
        },
        Text {
            subject: "Your {service} travel pass code",
            lines: &[
                "The {device_type} “{device}”{place} asked for a travel pass: it could then watch away from home for {days} days.",
                "To start the pass, type this code on that {device_type}:",
                "{code}",
                "It works once, only on that device, for {minutes} minutes.",
            ],
            sms: "{service}: {code} is the code to start a {days}-day travel pass on the {device_type} \"{device}\". Valid {minutes} min. Not you? Do not share it.",
        },
    ],
    notices: [
        Text {
            subject: "A new device at home on your {service} account",
            lines: &[
                "The {device_type} “{device}” signed in to your {service} account on {when}, from your home connection{place}.",
                "If you know this device, there is nothing to do.",
            ],
            sms: "{service}: the {device_type} \"{device}\" signed in at home on {when}. Nothing to do if you know it.",
        },
        Text {
            subject: "New sign-in away from home on your {service} account",
            lines: &[
                "The {device_type} “{device}” signed in to your {service} account on {when}{place}, away from your home connection.",
                "If it was you or someone in your household, there is nothing to do.",
            ],
            sms: "{service}: the {device_type} \"{device}\" signed in away from home{place} on {when}. Not you? Open the app yourself and check Devices.",
        },
        Text {
            subject: "{count} devices signed in to your {service} account",
            lines: &[
                "{count} devices signed in to your {service} account since {when}. The latest is the {device_type} “{device}”{place}.",
                "This many sign-ins at once often means the account is shared outside your household.",
            ],
            sms: "{service}: {count} devices signed in to your account since {when}. Not you? Open the app yourself and check Devices.",
        },
        Text {
            subject: "Your {service} password was changed",
            lines: &[
                "The password of your {service} account was changed on {when} from the {device_type} “{device}”{place}.",
                "Your other devices were signed out.",
            ],
            sms: "{service}: your password was changed on {when}. Not you? Open the app yourself and recover your account.",
        },
        Text {
            subject: "Your {service} password was reset",
            lines: &[
                "The password of your {service} account was reset with a recovery code on {when}, from the {device_type} “{device}”{place}.",
                "Every device was signed out.",
            ],
            sms: "{service}: your password was reset on {when}. Not you? Open the app yourself and recover your account.",
        },
        Text {
            subject: "Your {service} recovery contact was changed",
            lines: &[
                "The recovery phone number or e-mail address of your {service} account was changed on {when}, from the {device_type} “{device}”{place}.",
                "Recovery codes now go to the new contact.",
            ],
            sms: "{service}: your recovery contact was changed on {when}. Not you? Open the app yourself and check your account.",
        },
        Text {
            subject: "All devices were signed out of your {service} account",
            lines: &[
                "Every device was signed out of your {service} account on {when}, at the request of the {device_type} “{device}”{place}.",
                "Each device signs in again with your password or a one-time sign-in code.",
            ],
            sms: "{service}: all devices were signed out of your account on {when}. Not you? Open the app yourself and check your account.",
        },
        Text {
            subject: "Your {service} account seems to be shared",
            lines: &[
                "Since {when}, your {service} account has been watched from more than one home. The latest was the {device_type} “{device}”{place}.",
                "Devices outside your household will be asked to verify with a code sent to you.",
            ],
            sms: "{service}: your account seems to be used outside your household. Open the app yourself and check Devices.",
        },
        Text {
            subject: "Your {service} account is used by many people",
            lines: &[
                "Since {when}, your {service} account has been used by many devices in many places, as happens when an account is resold. The latest was the {device_type} “{device}”{place}.",
                "New devices will have to be verified with a code sent to you.",
            ],
            sms: "{service}: your account is used by many devices in many places. Open the app yourself, check Devices and change your password there.",
        },
        Text {
            subject: "A device asked to verify on your {service} account",
            lines: &[
                "The {device_type} “{device}” tried to watch with your {service} account on {when}{place}, outside your household, and was asked to verify.",
                "If it belongs to your household, approve it with the code we send you when it asks. Otherwise, there is nothing to do: it cannot watch without that code.",
            ],
            sms: "{service}: the {device_type} \"{device}\" was asked to verify on {when}{place}. It cannot watch without the code sent to you.",
        },
        Text {
            subject: "A device chose to verify later on your {service} account",
            lines: &[
                "The {device_type} “{device}” chose to verify later on {when}{place}: it may watch for a limited time before it has to verify with a code sent to you.",
                "If you know this device, there is nothing to do.",
            ],
            sms: "{service}: the {device_type} \"{device}\" chose to verify later on {when}. It must verify with your code soon.",
        },
        Text {
            subject: "A device was verified on your {service} account",
            lines: &[
                "The {device_type} “{device}” was verified with a code on {when}{place} and can now watch with your {service} account.",
                "If you did not give that code to anyone, sign this device out.",
            ],
            sms: "{service}: the {device_type} \"{device}\" was verified on {when}. Not you? Open the app yourself and check Devices.",
        },
        Text {
            subject: "Someone tried many passwords on your {service} account",
            lines: &[
                "Since {when}, {count} attempts to sign in to your {service} account failed with a wrong password. This is what happens when lists of passwords leaked from other sites are tried against many accounts.",
                "Signing in with a password is paused for a while; your devices that are already signed in keep working. If you use the same password on any other site, change it there and here: open the app or the site yourself and go to your password settings.",
            ],
            sms: "{service}: {count} wrong passwords were tried on your account since {when}. Your signed-in devices still work. If you use this password elsewhere, open the app yourself and change it.",
        },
    ],
};
