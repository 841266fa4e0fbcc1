// The cookie-cache values of src/auth/cookie_cache/better_auth_vectors.json, written by Better Auth
// 1.7.25's own code (compact: the exact setCookieCache expression over its HMAC/base64 helpers; jwt:
// signJWT; jwe: symmetricEncodeJWT, one secret and versioned secrets whose current one is not the first try).
import { symmetricEncodeJWT, signJWT } from "./node_modules/better-auth/dist/crypto/jwt.mjs";
import { createHMAC } from "@better-auth/utils/hmac";
import { base64Url } from "@better-auth/utils/base64";
// Regenerate: cd tests/betterauth && node cookie-cache-vectors.mjs > ../../src/auth/cookie_cache/better_auth_vectors.json
const secret = "better-auth-grpc-test-secret-0123456789abcdef";
const sessionData = {
  session: { expiresAt: new Date(1900000000000), token: "tok123", createdAt: new Date(1800000000000), updatedAt: new Date(1800000000000), ipAddress: null, userAgent: "ua", userId: "u1", id: "s1" },
  user: { name: "Zoë", email: "z@example.com", emailVerified: false, image: null, createdAt: new Date(1800000000000), updatedAt: new Date(1800000000000), id: "u1" },
  updatedAt: 1800000000000, version: "1",
};
const expiresAt = 1800000300000;
const compact = base64Url.encode(JSON.stringify({ session: sessionData, expiresAt,
  signature: await createHMAC("SHA-256", "base64urlnopad").sign(secret, JSON.stringify({ ...sessionData, expiresAt })) }), { padding: false });
const jwt = await signJWT(sessionData, secret, 300);
const jwe = await symmetricEncodeJWT(sessionData, secret, "better-auth-session", 300);
const jwe2 = await symmetricEncodeJWT(sessionData, { keys: new Map([["2", "second-secret-0123456789abcdefghijklmnop"], ["1", secret]]), currentVersion: "2" }, "better-auth-session", 300);
console.log(JSON.stringify({ now: Math.floor(Date.now()/1000), compact, jwt, jwe, jwe2 }, null, 1));
