//! Portuguese wording.

use super::{Lang, Text};

pub(crate) static LANG: Lang = Lang {
    device_types: ["televisão", "telefone", "tablet", "computador", "consola de jogos", "dispositivo"],
    near: " perto de {place}",
    code_not_you: "Se não foi você que pediu, não partilhe o código com ninguém, nem com quem diga trabalhar para a {service}.",
    not_you: &[
        "Se não foi você: abra a aplicação ou o site da {service} por si mesmo, nunca a partir de uma mensagem. Vá a Dispositivos e termine a sessão de todos os dispositivos que não conhece.",
        "Depois altere aí a sua palavra-passe.",
    ],
    never: "A {service} nunca lhe pedirá a palavra-passe, o número do cartão ou dados bancários numa mensagem, e esta mensagem não contém nenhuma ligação.",
    sms_never: "A {service} nunca pede a sua palavra-passe por mensagem.",
    codes: [
        Text {
            subject: "O seu código {service} para verificar um dispositivo",
            lines: &[
                "O dispositivo “{device}” ({device_type}){place} quer ver com a sua conta {service} e precisa da sua aprovação.",
                "Para o aprovar, escreva este código nesse dispositivo:",
                "{code}",
                "Funciona uma só vez, apenas nesse dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} é o código para aprovar o dispositivo “{device}” ({device_type}) na sua conta. Válido {minutes} min. Não foi você? Não o partilhe.",
        },
        Text {
            subject: "O seu código de início de sessão {service}",
            lines: &[
                "Pediu um código de início de sessão de uso único para o dispositivo “{device}” ({device_type}){place}, para que entre sem a sua palavra-passe.",
                "Passe este código à pessoa que usa esse dispositivo:",
                "{code}",
                "Funciona uma só vez, apenas nesse dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} é o código de início de sessão de uso único para o dispositivo “{device}” ({device_type}). Válido {minutes} min. Não foi você? Não o partilhe.",
        },
        Text {
            subject: "O seu código de recuperação da conta {service}",
            lines: &[
                "Alguém pediu para recuperar a sua conta {service} a partir do dispositivo “{device}” ({device_type}){place}.",
                "Se foi você, escreva este código nesse dispositivo para continuar:",
                "{code}",
                "Funciona uma só vez, apenas nesse dispositivo, durante {minutes} minutos. Quando a recuperação terminar, todos os dispositivos terminam a sessão.",
            ],
            sms: "{service}: {code} é o seu código de recuperação da conta, pedido a partir do dispositivo “{device}” ({device_type}). Válido {minutes} min. Não foi você? Não o partilhe.",
        },
        Text {
            subject: "O seu código {service} para mudar a sua casa",
            lines: &[
                "O dispositivo “{device}” ({device_type}){place} pediu que a sua ligação passe a ser a casa do seu agregado {service}.",
                "Para aceitar a mudança, escreva este código nesse dispositivo:",
                "{code}",
                "Funciona uma só vez, apenas nesse dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} é o código para mudar a sua casa para a ligação do dispositivo “{device}” ({device_type}). Válido {minutes} min. Não foi você? Não o partilhe.",
        },
        Text {
            subject: "O seu código {service} de passe de viagem",
            lines: &[
                "O dispositivo “{device}” ({device_type}){place} pediu um passe de viagem: poderia então ver fora de casa durante {days} dias.",
                "Para iniciar o passe, escreva este código nesse dispositivo:",
                "{code}",
                "Funciona uma só vez, apenas nesse dispositivo, durante {minutes} minutos.",
            ],
            sms: "{service}: {code} é o código para iniciar um passe de viagem de {days} dias no dispositivo “{device}” ({device_type}). Válido {minutes} min. Não foi você? Não o partilhe.",
        },
    ],
    notices: [
        Text {
            subject: "Um novo dispositivo em casa na sua conta {service}",
            lines: &[
                "O dispositivo “{device}” ({device_type}) iniciou sessão na sua conta {service} em {when}, a partir da ligação da sua casa{place}.",
                "Se conhece este dispositivo, não tem nada a fazer.",
            ],
            sms: "{service}: o dispositivo “{device}” ({device_type}) iniciou sessão em casa em {when}. Nada a fazer se o conhece.",
        },
        Text {
            subject: "Novo início de sessão fora de casa na sua conta {service}",
            lines: &[
                "O dispositivo “{device}” ({device_type}) iniciou sessão na sua conta {service} em {when}{place}, fora da ligação da sua casa.",
                "Se foi você ou alguém da sua casa, não tem nada a fazer.",
            ],
            sms: "{service}: o dispositivo “{device}” ({device_type}) iniciou sessão fora de casa{place} em {when}. Não foi você? Abra a aplicação por si mesmo e veja Dispositivos.",
        },
        Text {
            subject: "{count} dispositivos iniciaram sessão na sua conta {service}",
            lines: &[
                "{count} dispositivos iniciaram sessão na sua conta {service} desde {when}. O último é o dispositivo “{device}” ({device_type}){place}.",
                "Tantos inícios de sessão ao mesmo tempo costumam indicar que a conta é partilhada fora da sua casa.",
            ],
            sms: "{service}: {count} dispositivos iniciaram sessão na sua conta desde {when}. Não foi você? Abra a aplicação por si mesmo e veja Dispositivos.",
        },
        Text {
            subject: "A palavra-passe da sua conta {service} foi alterada",
            lines: &[
                "A palavra-passe da sua conta {service} foi alterada em {when} a partir do dispositivo “{device}” ({device_type}){place}.",
                "Os seus outros dispositivos terminaram a sessão.",
            ],
            sms: "{service}: a palavra-passe da sua conta foi alterada em {when}. Não foi você? Abra a aplicação por si mesmo e recupere a sua conta.",
        },
        Text {
            subject: "A palavra-passe da sua conta {service} foi reposta",
            lines: &[
                "A palavra-passe da sua conta {service} foi reposta com um código de recuperação em {when}, a partir do dispositivo “{device}” ({device_type}){place}.",
                "Todos os dispositivos terminaram a sessão.",
            ],
            sms: "{service}: a palavra-passe da sua conta foi reposta em {when}. Não foi você? Abra a aplicação por si mesmo e recupere a sua conta.",
        },
        Text {
            subject: "O contacto de recuperação da sua conta {service} foi alterado",
            lines: &[
                "O número de telefone ou o endereço de e-mail de recuperação da sua conta {service} foi alterado em {when}, a partir do dispositivo “{device}” ({device_type}){place}.",
                "Os códigos de recuperação passam a ir para o novo contacto.",
            ],
            sms: "{service}: o contacto de recuperação da sua conta foi alterado em {when}. Não foi você? Abra a aplicação por si mesmo e veja a sua conta.",
        },
        Text {
            subject: "Todos os dispositivos terminaram a sessão na sua conta {service}",
            lines: &[
                "Todos os dispositivos terminaram a sessão na sua conta {service} em {when}, a pedido do dispositivo “{device}” ({device_type}){place}.",
                "Cada dispositivo volta a entrar com a sua palavra-passe ou com um código de início de sessão de uso único.",
            ],
            sms: "{service}: todos os dispositivos terminaram a sessão na sua conta em {when}. Não foi você? Abra a aplicação por si mesmo e veja a sua conta.",
        },
        Text {
            subject: "A sua conta {service} parece partilhada",
            lines: &[
                "Desde {when}, a sua conta {service} é usada a partir de mais de uma casa. O último dispositivo foi “{device}” ({device_type}){place}.",
                "Os dispositivos fora da sua casa terão de ser verificados com um código enviado para si.",
            ],
            sms: "{service}: a sua conta parece usada fora da sua casa. Abra a aplicação por si mesmo e veja Dispositivos.",
        },
        Text {
            subject: "A sua conta {service} é usada por muitas pessoas",
            lines: &[
                "Desde {when}, a sua conta {service} é usada por muitos dispositivos em muitos lugares, como acontece quando uma conta é revendida. O último dispositivo foi “{device}” ({device_type}){place}.",
                "Os novos dispositivos terão de ser verificados com um código enviado para si.",
            ],
            sms: "{service}: a sua conta é usada por muitos dispositivos em muitos lugares. Abra a aplicação por si mesmo, veja Dispositivos e altere aí a sua palavra-passe.",
        },
        Text {
            subject: "Um dispositivo tem de ser verificado na sua conta {service}",
            lines: &[
                "O dispositivo “{device}” ({device_type}) tentou ver com a sua conta {service} em {when}{place}, fora da sua casa, e tem de ser verificado.",
                "Se pertence à sua casa, aprove-o com o código que lhe enviaremos quando ele o pedir. Caso contrário, não tem nada a fazer: não pode ver sem esse código.",
            ],
            sms: "{service}: o dispositivo “{device}” ({device_type}) tem de ser verificado ({when}{place}). Não pode ver sem o código enviado para si.",
        },
        Text {
            subject: "Um dispositivo escolheu verificar mais tarde na sua conta {service}",
            lines: &[
                "O dispositivo “{device}” ({device_type}) escolheu verificar mais tarde em {when}{place}: pode ver durante um tempo limitado e depois terá de ser verificado com um código enviado para si.",
                "Se conhece este dispositivo, não tem nada a fazer.",
            ],
            sms: "{service}: o dispositivo “{device}” ({device_type}) escolheu verificar mais tarde em {when}. Terá de ser verificado em breve com o seu código.",
        },
        Text {
            subject: "Um dispositivo foi verificado na sua conta {service}",
            lines: &[
                "O dispositivo “{device}” ({device_type}) foi verificado com um código em {when}{place} e já pode ver com a sua conta {service}.",
                "Se não passou esse código a ninguém, termine a sessão deste dispositivo.",
            ],
            sms: "{service}: o dispositivo “{device}” ({device_type}) foi verificado em {when}. Não foi você? Abra a aplicação por si mesmo e veja Dispositivos.",
        },
        Text {
            subject: "Alguém tentou muitas palavras-passe na sua conta {service}",
            lines: &[
                "Desde {when}, {count} tentativas de iniciar sessão na sua conta {service} falharam com uma palavra-passe errada. É o que acontece quando listas de palavras-passe roubadas noutros sites são experimentadas em muitas contas.",
                "O início de sessão com palavra-passe fica suspenso durante algum tempo; os seus dispositivos com sessão iniciada continuam a funcionar. Se usa a mesma palavra-passe noutro site, mude-a lá e aqui: abra a aplicação ou o site por si mesmo e vá às definições da palavra-passe.",
            ],
            sms: "{service}: {count} palavras-passe erradas tentadas na sua conta desde {when}. Os seus dispositivos continuam a funcionar. Se usa esta palavra-passe noutro lado, abra a aplicação por si mesmo e mude-a.",
        },
    ],
};
