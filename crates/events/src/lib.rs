//! Event streams for Hearth: reading JSON Lines with line-numbered errors
//! ([`read`]), GeoIP/ASN enrichment ([`geo`]), batch replay through the same
//! engine the server uses ([`replay`]), a labelled population simulator
//! ([`simulate`]) and its evaluation ([`evaluate`]).

pub mod evaluate;
pub mod geo;
pub mod output;
pub mod read;
pub mod replay;
pub mod simulate;
