//! The courier: templates, outbox worker and delivery channels.
