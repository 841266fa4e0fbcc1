//! JWTs of Better Auth's jwt plugin (arrives with issue 5).
