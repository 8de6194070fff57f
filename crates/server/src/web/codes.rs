//! The owner's one-time code pages: password reset by code (signed out), and a sign-in
//! code to hand to a family member instead of the password.

use super::ctx::Ctx;
use super::owner::{explain, require_owner};
use super::{when, Base, Posted};
use crate::service::codes::CodeChannel;
use axum::http::StatusCode;
use axum::response::Response;

#[derive(askama::Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub base: Base,
    pub email: String,
    /// A code was asked for: show the second step.
    pub sent: bool,
}

pub async fn reset_page(ctx: Ctx) -> Response {
    let base = ctx.base("reset.title", "sign_in");
    ctx.page(&ResetPage {
        base,
        email: String::new(),
        sent: false,
    })
}

/// First step: the same answer whether or not the address has an account.
pub async fn reset(p: Posted) -> Response {
    let email = p.field("email").trim().to_owned();
    let channel = if p.field("channel") == "sms" {
        CodeChannel::Sms
    } else {
        CodeChannel::Email
    };
    let ctx = p.ctx;
    ctx.app
        .request_password_reset(&email, channel, ctx.client.clone());
    let mut base = ctx.base("reset.title", "sign_in");
    base.flash = Some(ctx.tr.t("reset.sent").to_owned());
    ctx.page(&ResetPage {
        base,
        email,
        sent: true,
    })
}

/// Second step: the code and a new password; every device is signed out.
pub async fn reset_complete(p: Posted) -> Response {
    let email = p.field("email").trim().to_owned();
    let code: String = p
        .field("code")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let (new, again) = (p.field("new").to_owned(), p.field("again").to_owned());
    let mut ctx = p.ctx;
    let result = if new != again {
        Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("password.mismatch").to_owned(),
        ))
    } else {
        ctx.app
            .complete_password_reset(&email, &code, &new, &ctx.client)
            .await
            .map_err(|e| explain(&ctx.tr, &e))
    };
    match result {
        Ok(_) => {
            ctx.set_flash("flash.password_reset");
            ctx.redirect("/sign-in")
        }
        Err((st, m)) => {
            let mut base = ctx.base("reset.title", "sign_in");
            base.error = Some(m);
            ctx.render(
                st,
                &ResetPage {
                    base,
                    email,
                    sent: true,
                },
            )
        }
    }
}

#[derive(askama::Template)]
#[template(path = "sign_in_code.html")]
pub struct SignInCodePage {
    pub base: Base,
    /// The code just created, and until when it works.
    pub code: Option<(String, String)>,
}

pub async fn sign_in_code_page(ctx: Ctx) -> Response {
    let (ctx, _, _) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let base = ctx.base("sign_in_code.title", "devices");
    ctx.page(&SignInCodePage { base, code: None })
}

pub async fn sign_in_code(p: Posted) -> Response {
    let ctx = p.ctx;
    let (ctx, session, _) = match require_owner(ctx, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match ctx.app.create_sign_in_code(&session, &ctx.client).await {
        Ok(c) => {
            let base = ctx.base("sign_in_code.title", "devices");
            let code = Some((c.code, when(c.expires_at)));
            ctx.page(&SignInCodePage { base, code })
        }
        Err(e) => {
            let (st, m) = explain(&ctx.tr, &e);
            let mut base = ctx.base("sign_in_code.title", "devices");
            base.error = Some(m);
            ctx.render(st, &SignInCodePage { base, code: None })
        }
    }
}
