-- mod_auth_livechat: Prosody 0.12 authentication by livechat-auth.
--
-- Prosody asks livechat-auth (its HTTP auth contract, "livechat-auth
-- serve") whether a user may sign in with a password or a sign-in token;
-- the TikiWiki database decides. Requests are asynchronous (net.http):
-- Prosody keeps serving while a sign-in is checked. Writes (registration,
-- password changes, removal) are refused: the wiki owns the accounts.
--
-- During a migration from Prosody's own accounts, livechat_auth_fallback
-- names the provider that holds them (e.g. "internal_hashed", the data
-- Prosody used before): a name and password the wiki answers "no" to are
-- then tried there, as ejabberd's auth_method: [external, internal] does,
-- and such an account may change its password or remove itself (XEP-0077),
-- which the migration API uses to close it once the wiki owns its name.
-- When livechat-auth cannot answer, nothing is tried there (fail closed).
--
-- Install: copy this file into a folder named in plugin_paths, then
--   authentication = "livechat"
--   livechat_auth_url = "http://127.0.0.1:8484/auth"   -- httpauth.path on serve.listen
--   livechat_auth_secret = "..."                      -- livechat-auth's httpauth.secret
--   livechat_auth_timeout = 3                         -- seconds (default 3)
--   livechat_auth_fallback = "internal_hashed"        -- optional, during a migration

local http = require "net.http";
local async = require "util.async";
local timer = require "util.timer";
local formencode = require "util.http".formencode;
local new_sasl = require "util.sasl".new;

local host = module.host;
local base_url = module:get_option_string("livechat_auth_url", "http://127.0.0.1:8484/auth"):gsub("/+$", "");
local secret = module:get_option_string("livechat_auth_secret");
local timeout = module:get_option_number("livechat_auth_timeout", 3);

-- The provider of the old accounts, during a migration (nil: none).
local fallback_name = module:get_option_string("livechat_auth_fallback");
local fallback;
if fallback_name then
	module:depends("auth_" .. fallback_name);
	for _, item in ipairs(module:get_host_items("auth-provider")) do
		if item.name == fallback_name then
			fallback = item;
		end
	end
	if not fallback then
		error("livechat_auth_fallback: no auth provider named " .. fallback_name);
	end
	module:log("info", "accounts the wiki does not know are tried in %s", fallback_name);
end

-- old reports whether username is an account of the fallback provider.
local function old(username)
	return fallback ~= nil and fallback.user_exists(username) == true;
end

if not secret then
	module:log("warn", "livechat_auth_secret is not set: livechat-auth will refuse the requests unless it allows no secret");
end

-- ask calls one method of the contract and returns true or false, or nil
-- and a reason when livechat-auth could not answer (then the caller
-- refuses: fail closed). It must run in an async context, as Prosody's
-- stanza and SASL handlers do.
local function ask(method, params)
	if not async.ready() then
		module:log("error", "%s called outside an async context; refusing", method);
		return nil, "not in an async context";
	end
	local wait, done = async.waiter();
	local finished, body, code, response_reason = false, nil, 0, nil;
	local function finish(b, c, response)
		if finished then return; end
		finished, body, code = true, b, c;
		if response and response.headers then
			response_reason = response.headers["x-livechat-reason"];
		end
		done();
	end
	local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" };
	if secret then
		headers["Authorization"] = "Bearer " .. secret;
	end
	local request = http.request(base_url .. "/" .. method, {
		method = "POST"; -- the password travels in the body, never in a URL
		body = formencode(params);
		headers = headers;
		suppress_errors = true;
	}, finish);
	timer.add_task(timeout, function ()
		if not finished then
			finish(nil, 0);
			if request and http.destroy_request then
				http.destroy_request(request);
			end
		end
	end);
	wait();
	if code == 200 and (body == "true" or body == "false") then
		return body == "true";
	end
	local reason = code == 0 and "livechat-auth unreachable or too slow" or ("livechat-auth answered HTTP " .. tostring(code));
	local why = response_reason;
	if why == "db-unavailable" then
		reason = "the wiki database is unavailable (livechat-auth: db-unavailable)";
	elseif why and why ~= "" then
		reason = "livechat-auth failed (" .. why .. ", HTTP " .. tostring(code) .. ")";
	end
	-- Prosody's SASL PLAIN can only say not-authorized: the reason is here.
	module:log("error", "%s for %s@%s: %s; refusing", method, params.user or "?", host, reason);
	return nil, reason;
end

local provider = {};

function provider.test_password(username, password)
	local ok, err = ask("check_password", { user = username, server = host, pass = password });
	if ok then
		return true;
	end
	if ok == false and old(username) then -- the wiki said no; an error is no "no"
		return fallback.test_password(username, password);
	end
	return nil, err or "Invalid username or password";
end

function provider.user_exists(username)
	local ok = ask("user_exists", { user = username, server = host });
	if ok == false and old(username) then
		return true;
	end
	return ok == true;
end

function provider.set_password(username, password)
	if old(username) then
		return fallback.set_password(username, password);
	end
	return nil, "Passwords are managed by the wiki";
end

function provider.create_user()
	return nil, "Accounts are managed by the wiki";
end

function provider.delete_user(username)
	if old(username) then
		return fallback.delete_user(username);
	end
	return nil, "Accounts are managed by the wiki";
end

function provider.users()
	if fallback then
		return fallback.users(); -- the old accounts; the wiki holds the rest
	end
	return function () return nil; end; -- the wiki holds the list; none is kept here
end

function provider.get_sasl_handler()
	return new_sasl(host, {
		plain_test = function (_, username, password)
			return provider.test_password(username, password) == true, true;
		end;
	});
end

module:provides("auth", provider);
