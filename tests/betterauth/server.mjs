// Test harness: runs REAL Better Auth (from npm) behind node:http so that the Rust
// integration tests can prove interop with it. Configured only through the environment:
//
//   BA_DATABASE                 postgres://... -> pg.Pool; anything else -> SQLite file (better-sqlite3)
//   BETTER_AUTH_SECRET(S)       read by Better Auth itself
//   BETTER_AUTH_URL             read by Better Auth; also passed as baseURL and the only trusted origin
//   BA_PORT                     port to listen on, 127.0.0.1 only (default 0 = any free port)
//   BA_PLUGINS                  comma list of jwt,bearer,admin,organization (default "jwt,bearer"; "" = none)
//   BA_JWT_ALG                  EdDSA (default) | ES256 | ES512 | RS256 | PS256
//   BA_JWT_ROTATION             jwks.rotationInterval, seconds
//   BA_JWT_GRACE                jwks.gracePeriod, seconds
//   BA_JWT_DISABLE_ENCRYPTION=1 jwks.disablePrivateKeyEncryption
//   BA_EXPIRES_IN, BA_UPDATE_AGE  session.expiresIn / session.updateAge, seconds (unset = Better Auth defaults)
//   BA_COOKIE_CACHE             compact | jwt | jwe: session.cookieCache { enabled: true, strategy } (unset = off)
//   BA_COOKIE_CACHE_MAX_AGE     session.cookieCache.maxAge, seconds (unset = Better Auth's 300)
//   BA_JWT_SESSION_COOKIE_CACHE=1  jwt({ sessionCookieCache: true }): the jwt strategy signs with the jwks keys
//                               (needs BA_COOKIE_CACHE=jwt and the jwt plugin)
//   BA_DELETE_USER=1            user.deleteUser.enabled (POST /delete-user)
//   BA_MIGRATE=1                create/upgrade the schema with Better Auth's getMigrations() before serving
//   BA_MIGRATE_ONLY=1           migrate, print {"migrated":true} and exit 0
//   BA_LOG_LEVEL                Better Auth logger level (debug|info|warn|error), default Better Auth's
//   BA_EXIT_WITH_STDIN=1        exit when stdin closes (the parent test process died)
//
// stdout carries exactly one JSON line: {"ready":true,"port":<n>} once listening
// (or {"migrated":true} with BA_MIGRATE_ONLY). Everything else goes to stderr.
//
// Test-only routes (GET, JSON), outside Better Auth's base path:
//   /test/health                  -> {"ok":true}
//   /test/verify-jwt?token=       -> {"payload": <payload|null>} via auth.api.verifyJWT
//   /test/jose-verify?token=[&issuer=&audience=]
//                                 -> {"ok":true,"payload":...} | {"ok":false,"error":"..."}
//                                    jose.jwtVerify against this server's own /jwks
//                                    (issuer/audience default to the BETTER_AUTH_URL origin)

import http from "node:http";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { admin, bearer, jwt, organization } from "better-auth/plugins";
import { createRemoteJWKSet, jwtVerify } from "jose";

// Keep stdout for the single machine-readable line: anything a library logs goes to stderr.
const stdoutLine = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
for (const m of ["log", "info", "debug"]) console[m] = (...args) => console.error(...args);

function fail(message) {
	console.error(`[better-auth harness] ${message}`);
	process.exit(2);
}

function envInt(name) {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return undefined;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 0) fail(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
	return n;
}

const envFlag = (name) => ["1", "true", "yes"].includes((process.env[name] ?? "").toLowerCase());

// ---- database ---------------------------------------------------------------------------------
const databaseUrl = process.env.BA_DATABASE;
if (!databaseUrl) fail("BA_DATABASE is required (postgres://... or a SQLite file path)");

let database;
let closeDatabase;
if (/^postgres(ql)?:\/\//i.test(databaseUrl)) {
	const { default: pg } = await import("pg");
	database = new pg.Pool({ connectionString: databaseUrl });
	closeDatabase = () => database.end();
} else {
	const { default: Database } = await import("better-sqlite3");
	database = new Database(databaseUrl);
	closeDatabase = async () => database.close();
}

// ---- base URL ---------------------------------------------------------------------------------
const baseURL = process.env.BETTER_AUTH_URL || undefined;
let baseOrigin;
let basePath = "/api/auth";
if (baseURL) {
	let parsed;
	try {
		parsed = new URL(baseURL);
	} catch {
		fail(`BETTER_AUTH_URL is not a URL: ${JSON.stringify(baseURL)}`);
	}
	baseOrigin = parsed.origin;
	// Better Auth uses a path in the base URL as its route prefix (docs/better-auth-compat.md §5).
	const p = parsed.pathname.replace(/\/+$/, "");
	if (p !== "") basePath = p;
}

// ---- plugins ----------------------------------------------------------------------------------
const JWT_KEY_PAIRS = {
	EdDSA: { alg: "EdDSA", crv: "Ed25519" },
	ES256: { alg: "ES256", crv: "P-256" },
	ES512: { alg: "ES512", crv: "P-521" },
	RS256: { alg: "RS256" },
	PS256: { alg: "PS256" },
};

function jwtPlugin() {
	const algName = process.env.BA_JWT_ALG || "EdDSA";
	const keyPairConfig = JWT_KEY_PAIRS[algName];
	if (!keyPairConfig) fail(`BA_JWT_ALG must be one of ${Object.keys(JWT_KEY_PAIRS).join(", ")}, got ${algName}`);
	const jwks = { keyPairConfig };
	const rotation = envInt("BA_JWT_ROTATION");
	if (rotation !== undefined) jwks.rotationInterval = rotation;
	const grace = envInt("BA_JWT_GRACE");
	if (grace !== undefined) jwks.gracePeriod = grace;
	if (envFlag("BA_JWT_DISABLE_ENCRYPTION")) jwks.disablePrivateKeyEncryption = true;
	return jwt({ jwks, ...(envFlag("BA_JWT_SESSION_COOKIE_CACHE") ? { sessionCookieCache: true } : {}) });
}

const PLUGIN_FACTORIES = {
	jwt: jwtPlugin,
	bearer: () => bearer(),
	admin: () => admin(),
	organization: () => organization(),
};

const pluginNames = (process.env.BA_PLUGINS ?? "jwt,bearer")
	.split(",")
	.map((s) => s.trim())
	.filter(Boolean);
const plugins = pluginNames.map((name) => {
	const factory = PLUGIN_FACTORIES[name];
	if (!factory) fail(`unknown plugin in BA_PLUGINS: ${name} (known: ${Object.keys(PLUGIN_FACTORIES).join(", ")})`);
	return factory();
});

// ---- options ----------------------------------------------------------------------------------
const session = {};
const expiresIn = envInt("BA_EXPIRES_IN");
if (expiresIn !== undefined) session.expiresIn = expiresIn;
const updateAge = envInt("BA_UPDATE_AGE");
if (updateAge !== undefined) session.updateAge = updateAge;
const cookieCacheStrategy = process.env.BA_COOKIE_CACHE || undefined;
if (cookieCacheStrategy !== undefined) {
	if (!["compact", "jwt", "jwe"].includes(cookieCacheStrategy)) fail(`BA_COOKIE_CACHE must be compact, jwt or jwe, got ${cookieCacheStrategy}`);
	session.cookieCache = { enabled: true, strategy: cookieCacheStrategy };
	const maxAge = envInt("BA_COOKIE_CACHE_MAX_AGE");
	if (maxAge !== undefined) session.cookieCache.maxAge = maxAge;
}

const options = {
	database,
	baseURL,
	trustedOrigins: baseOrigin ? [baseOrigin] : [],
	emailAndPassword: { enabled: true },
	session,
	plugins,
	...(envFlag("BA_DELETE_USER") ? { user: { deleteUser: { enabled: true } } } : {}),
	logger: {
		...(process.env.BA_LOG_LEVEL ? { level: process.env.BA_LOG_LEVEL } : {}),
		log: (level, message, ...args) => console.error(`[better-auth ${level}] ${message}`, ...args),
	},
};

// ---- migrations -------------------------------------------------------------------------------
if (envFlag("BA_MIGRATE") || envFlag("BA_MIGRATE_ONLY")) {
	try {
		const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
		console.error(
			`[better-auth harness] migrating: create [${toBeCreated.map((t) => t.table).join(", ")}],` +
				` add columns to [${toBeAdded.map((t) => t.table).join(", ")}]`,
		);
		await runMigrations();
	} catch (err) {
		console.error(err);
		fail("migration failed");
	}
	if (envFlag("BA_MIGRATE_ONLY")) {
		await closeDatabase();
		stdoutLine({ migrated: true });
		process.exit(0);
	}
}

const auth = betterAuth(options);
const authHandler = toNodeHandler(auth);

// ---- test-only routes -------------------------------------------------------------------------
let listeningPort = 0;

function sendJson(res, status, body) {
	const text = JSON.stringify(body);
	res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
	res.end(text);
}

const errorText = (err) => (err && (err.code ? `${err.code}: ${err.message}` : err.message)) || String(err);

async function testRoute(req, res, url) {
	if (req.method !== "GET") return sendJson(res, 405, { error: "GET only" });
	const token = url.searchParams.get("token");
	switch (url.pathname) {
		case "/test/health":
			return sendJson(res, 200, { ok: true });
		case "/test/verify-jwt": {
			if (token === null) return sendJson(res, 400, { error: "missing token" });
			if (typeof auth.api.verifyJWT !== "function") return sendJson(res, 400, { error: "jwt plugin not enabled" });
			try {
				const out = await auth.api.verifyJWT({ body: { token } });
				return sendJson(res, 200, { payload: out?.payload ?? null });
			} catch (err) {
				console.error("[better-auth harness] verifyJWT threw:", err);
				return sendJson(res, 200, { payload: null, error: errorText(err) });
			}
		}
		case "/test/jose-verify": {
			if (token === null) return sendJson(res, 400, { error: "missing token" });
			// The JWKS is fetched from THIS server's real port (BETTER_AUTH_URL may name another one).
			// A fresh key set per call, so rotated keys are picked up without jose's cooldown.
			const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${listeningPort}${basePath}/jwks`));
			const issuer = url.searchParams.get("issuer") ?? baseOrigin;
			const audience = url.searchParams.get("audience") ?? baseOrigin;
			try {
				const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience });
				return sendJson(res, 200, { ok: true, payload, header: protectedHeader });
			} catch (err) {
				return sendJson(res, 200, { ok: false, error: errorText(err) });
			}
		}
		default:
			return sendJson(res, 404, { error: `no test route ${url.pathname}` });
	}
}

// ---- server -----------------------------------------------------------------------------------
const server = http.createServer((req, res) => {
	const url = new URL(req.url ?? "/", "http://127.0.0.1");
	const work = url.pathname.startsWith("/test/") ? testRoute(req, res, url) : authHandler(req, res);
	Promise.resolve(work).catch((err) => {
		console.error("[better-auth harness] request failed:", err);
		if (!res.headersSent) sendJson(res, 500, { error: errorText(err) });
		else res.destroy();
	});
});

const port = envInt("BA_PORT") ?? 0;
server.on("error", (err) => {
	console.error(err);
	fail(`cannot listen on 127.0.0.1:${port}`);
});
server.listen(port, "127.0.0.1", () => {
	listeningPort = server.address().port;
	console.error(
		`[better-auth harness] Better Auth listening on http://127.0.0.1:${listeningPort}${basePath}` +
			` (BETTER_AUTH_URL=${baseURL ?? "<unset>"}, plugins=[${pluginNames.join(",")}], db=${
				database.constructor?.name ?? "?"
			})`,
	);
	stdoutLine({ ready: true, port: listeningPort });
});

let stopping = false;
async function shutdown(signal) {
	if (stopping) return;
	stopping = true;
	console.error(`[better-auth harness] ${signal}: shutting down`);
	const hardStop = setTimeout(() => process.exit(0), 3000);
	hardStop.unref();
	server.close();
	server.closeAllConnections();
	try {
		await closeDatabase();
	} catch (err) {
		console.error(err);
	}
	process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (envFlag("BA_EXIT_WITH_STDIN")) {
	process.stdin.on("end", () => shutdown("stdin closed"));
	process.stdin.on("error", () => shutdown("stdin error"));
	process.stdin.resume();
}
