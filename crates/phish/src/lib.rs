//! Message analysis: is this SMS or e-mail a fake that impersonates the service?
