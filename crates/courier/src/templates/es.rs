//! Spanish wording.

use super::{Lang, Text};

pub(crate) static LANG: Lang = Lang {
    device_types: ["televisor", "teléfono", "tableta", "ordenador", "consola de juegos", "dispositivo"],
    near: " cerca de {place}",
    code_not_you: "Si no lo pediste tú, no compartas el código con nadie, ni siquiera con quien diga trabajar para {service}.",
    not_you: &[
        "Si no fuiste tú: abre tú mismo la aplicación o el sitio de {service}, nunca desde un mensaje. Ve a Dispositivos y cierra la sesión de todos los dispositivos que no conozcas.",
        "Después cambia allí tu contraseña.",
    ],
    never: "{service} nunca te pedirá tu contraseña, el número de tu tarjeta ni datos bancarios en un mensaje, y este mensaje no contiene ningún enlace.",
    sms_never: "{service} nunca pide tu contraseña por mensaje.",
    codes: [
        Text {
            subject: "Tu código de {service} para verificar un dispositivo",
            lines: &[
                "El dispositivo “{device}” ({device_type}){place} quiere ver con tu cuenta de {service} y necesita tu aprobación.",
                "Para aprobarlo, escribe este código en ese dispositivo:",
                "{code}",
                "Sirve una sola vez, solo en ese dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} es el código para aprobar el dispositivo “{device}” ({device_type}) en tu cuenta. Válido {minutes} min. ¿No fuiste tú? No lo compartas.",
        },
        Text {
            subject: "Tu código de inicio de sesión de {service}",
            lines: &[
                "Pediste un código de inicio de sesión de un solo uso para el dispositivo “{device}” ({device_type}){place}, para que entre sin tu contraseña.",
                "Entrega este código a la persona que usa ese dispositivo:",
                "{code}",
                "Sirve una sola vez, solo en ese dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} es el código de inicio de sesión de un solo uso para el dispositivo “{device}” ({device_type}). Válido {minutes} min. ¿No fuiste tú? No lo compartas.",
        },
        Text {
            subject: "Tu código de recuperación de la cuenta de {service}",
            lines: &[
                "Alguien pidió recuperar tu cuenta de {service} desde el dispositivo “{device}” ({device_type}){place}.",
                "Si fuiste tú, escribe este código en ese dispositivo para continuar:",
                "{code}",
                "Sirve una sola vez, solo en ese dispositivo, durante {minutes} minutos. Al terminar la recuperación se cierra la sesión en todos los dispositivos.",
            ],
            sms: "{service}: {code} es tu código de recuperación de la cuenta, pedido desde el dispositivo “{device}” ({device_type}). Válido {minutes} min. ¿No fuiste tú? No lo compartas.",
        },
        Text {
            subject: "Tu código de {service} para mudar tu hogar",
            lines: &[
                "El dispositivo “{device}” ({device_type}){place} pidió que su conexión pase a ser el hogar de tu cuenta de {service}.",
                "Para aceptar el cambio, escribe este código en ese dispositivo:",
                "{code}",
                "Sirve una sola vez, solo en ese dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} es el código para mudar tu hogar a la conexión del dispositivo “{device}” ({device_type}). Válido {minutes} min. ¿No fuiste tú? No lo compartas.",
        },
        Text {
            subject: "Tu código de {service} de pase de viaje",
            lines: &[
                "El dispositivo “{device}” ({device_type}){place} pidió un pase de viaje: podría ver fuera de casa durante {days} días.",
                "Para iniciar el pase, escribe este código en ese dispositivo:",
                "{code}",
                "Sirve una sola vez, solo en ese dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} es el código para iniciar un pase de viaje de {days} días en el dispositivo “{device}” ({device_type}). Válido {minutes} min. ¿No fuiste tú? No lo compartas.",
        },
    ],
    notices: [
        Text {
            subject: "Un dispositivo nuevo en casa en tu cuenta de {service}",
            lines: &[
                "El dispositivo “{device}” ({device_type}) inició sesión en tu cuenta de {service} el {when}, desde la conexión de tu casa{place}.",
                "Si conoces este dispositivo, no tienes que hacer nada.",
            ],
            sms: "{service}: el dispositivo “{device}” ({device_type}) inició sesión en casa el {when}. Nada que hacer si lo conoces.",
        },
        Text {
            subject: "Nuevo inicio de sesión fuera de casa en tu cuenta de {service}",
            lines: &[
                "El dispositivo “{device}” ({device_type}) inició sesión en tu cuenta de {service} el {when}{place}, fuera de la conexión de tu casa.",
                "Si fuiste tú o alguien de tu hogar, no tienes que hacer nada.",
            ],
            sms: "{service}: el dispositivo “{device}” ({device_type}) inició sesión fuera de casa{place} el {when}. ¿No fuiste tú? Abre tú mismo la aplicación y revisa Dispositivos.",
        },
        Text {
            subject: "{count} dispositivos iniciaron sesión en tu cuenta de {service}",
            lines: &[
                "{count} dispositivos iniciaron sesión en tu cuenta de {service} desde el {when}. El último es el dispositivo “{device}” ({device_type}){place}.",
                "Tantos inicios de sesión a la vez suelen indicar que la cuenta se comparte fuera de tu hogar.",
            ],
            sms: "{service}: {count} dispositivos iniciaron sesión en tu cuenta desde el {when}. ¿No fuiste tú? Abre tú mismo la aplicación y revisa Dispositivos.",
        },
        Text {
            subject: "La contraseña de tu cuenta de {service} se ha cambiado",
            lines: &[
                "La contraseña de tu cuenta de {service} se cambió el {when} desde el dispositivo “{device}” ({device_type}){place}.",
                "Se cerró la sesión en tus otros dispositivos.",
            ],
            sms: "{service}: tu contraseña se cambió el {when} y tus otros dispositivos cerraron sesión. ¿No fuiste tú? Abre tú mismo la aplicación.",
        },
        Text {
            subject: "La contraseña de tu cuenta de {service} se ha restablecido",
            lines: &[
                "La contraseña de tu cuenta de {service} se restableció con un código de recuperación el {when}, desde el dispositivo “{device}” ({device_type}){place}.",
                "Se cerró la sesión en todos los dispositivos.",
            ],
            sms: "{service}: tu contraseña se restableció el {when} y todos los dispositivos cerraron sesión. ¿No fuiste tú? Abre tú mismo la aplicación.",
        },
        Text {
            subject: "El contacto de recuperación de tu cuenta de {service} ha cambiado",
            lines: &[
                "El número de teléfono o la dirección de correo de recuperación de tu cuenta de {service} se cambió el {when}, desde el dispositivo “{device}” ({device_type}){place}.",
                "Los códigos de recuperación irán ahora al nuevo contacto.",
            ],
            sms: "{service}: el teléfono o el correo de recuperación de tu cuenta se cambió el {when}. ¿No fuiste tú? Abre tú mismo la aplicación.",
        },
        Text {
            subject: "Se cerró la sesión en todos los dispositivos de tu cuenta de {service}",
            lines: &[
                "Se cerró la sesión en todos los dispositivos de tu cuenta de {service} el {when}, a petición del dispositivo “{device}” ({device_type}){place}.",
                "Cada dispositivo vuelve a entrar con tu contraseña o con un código de inicio de sesión de un solo uso.",
            ],
            sms: "{service}: se cerró la sesión en todos los dispositivos de tu cuenta el {when}. ¿No fuiste tú? Abre tú mismo la aplicación y revisa tu cuenta.",
        },
        Text {
            subject: "Tu cuenta de {service} parece compartida",
            lines: &[
                "Desde el {when}, tu cuenta de {service} se usa desde más de un hogar. El último dispositivo fue “{device}” ({device_type}){place}.",
                "Los dispositivos fuera de tu hogar tendrán que verificarse con un código que te enviaremos.",
            ],
            sms: "{service}: tu cuenta parece usarse fuera de tu hogar. Abre tú mismo la aplicación y revisa Dispositivos.",
        },
        Text {
            subject: "Tu cuenta de {service} la usan muchas personas",
            lines: &[
                "Desde el {when}, tu cuenta de {service} la usan muchos dispositivos en muchos lugares, como ocurre cuando una cuenta se revende. El último dispositivo fue “{device}” ({device_type}){place}.",
                "Los dispositivos nuevos tendrán que verificarse con un código que te enviaremos.",
            ],
            sms: "{service}: tu cuenta la usan muchos dispositivos en muchos lugares. Abre tú mismo la aplicación, revisa Dispositivos y cambia allí tu contraseña.",
        },
        Text {
            subject: "Un dispositivo tiene que verificarse en tu cuenta de {service}",
            lines: &[
                "El dispositivo “{device}” ({device_type}) intentó ver con tu cuenta de {service} el {when}{place}, fuera de tu hogar, y tiene que verificarse.",
                "Si es de tu hogar, apruébalo con el código que te enviaremos cuando lo pida. Si no, no tienes que hacer nada: no puede ver sin ese código.",
            ],
            sms: "{service}: el dispositivo “{device}” ({device_type}) tiene que verificarse ({when}{place}). No puede ver sin el código que te enviamos.",
        },
        Text {
            subject: "Un dispositivo eligió verificarse más tarde en tu cuenta de {service}",
            lines: &[
                "El dispositivo “{device}” ({device_type}) eligió verificarse más tarde el {when}{place}: puede ver durante un tiempo limitado y después tendrá que verificarse con un código que te enviaremos.",
                "Si conoces este dispositivo, no tienes que hacer nada.",
            ],
            sms: "{service}: el dispositivo “{device}” ({device_type}) eligió verificarse más tarde el {when}. Pronto tendrá que verificarse con tu código.",
        },
        Text {
            subject: "Se verificó un dispositivo en tu cuenta de {service}",
            lines: &[
                "El dispositivo “{device}” ({device_type}) se verificó con un código el {when}{place} y ya puede ver con tu cuenta de {service}.",
                "Si no diste ese código a nadie, cierra la sesión de este dispositivo.",
            ],
            sms: "{service}: el dispositivo “{device}” ({device_type}) se verificó el {when}. ¿No fuiste tú? Abre tú mismo la aplicación y revisa Dispositivos.",
        },
        Text {
            subject: "Alguien probó muchas contraseñas en tu cuenta de {service}",
            lines: &[
                "Desde el {when}, {count} intentos de iniciar sesión en tu cuenta de {service} fallaron con una contraseña incorrecta. Es lo que ocurre cuando se prueban en muchas cuentas listas de contraseñas robadas de otros sitios.",
                "El inicio de sesión con contraseña queda en pausa un tiempo; tus dispositivos con la sesión iniciada siguen funcionando. Si usas la misma contraseña en otro sitio, cámbiala allí y aquí: abre tú mismo la aplicación o el sitio y ve a los ajustes de la contraseña.",
            ],
            sms: "{service}: se probaron {count} contraseñas incorrectas en tu cuenta desde el {when}. Tus dispositivos siguen funcionando. Si usas esta contraseña en otro sitio, abre tú mismo la aplicación y cámbiala.",
        },
    ],
};
