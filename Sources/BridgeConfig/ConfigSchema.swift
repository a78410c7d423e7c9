/// Known keys of every section, used for unknown-key reports and by the README.
enum ConfigSchema {
    static let topLevel = ["personas_dir", "persona_files", "model", "storage", "defaults", "admins", "platforms",
                           "channels", "servers", "operations", "budgets", "memory", "scenes"]
    static let model = ["provider", "base_url", "model", "api_key_env", "api_key_file", "dialect", "extra_headers",
                        "http_referer", "x_title", "max_attempts", "idle_timeout_seconds", "connect_timeout_seconds",
                        "temperature", "top_p", "max_output_tokens"]
    static let storage = ["path", "url", "call_timeout_seconds"]
    static let defaults = ["command_prefix", "history_messages", "context_tokens", "safety_margin_tokens",
                           "max_reply_characters", "catch_up_window_seconds", "trigger"]
    static let trigger = ["mode", "talkativeness", "cooldown_seconds", "max_bot_turns", "respond_to_bots"]
    static let admins = ["users", "roles", "accounts"]
    static let channel = ["platform", "server", "channel", "personas", "trigger", "scene", "key", "lorebooks",
                          "memory_every_tokens", "memory_prompt", "activation", "allow_self_responses",
                          "group_prompt", "group_nudge"]
    static let server = ["platform", "server", "lorebooks"]
    static let linkedScene = ["name", "channels", "personas", "trigger", "lorebooks", "memory_every_tokens", "memory_prompt",
                              "activation", "allow_self_responses", "group_prompt", "group_nudge", "relay_humans"]
    static let linkedChannel = ["platform", "server", "channel", "key"]
    static let operations = ["metrics_address", "shutdown_grace_seconds", "log_format", "log_level", "shard_index",
                             "shard_count", "metrics_token_file", "max_concurrent_replies_per_channel",
                             "prompt_records_per_channel", "prompt_dump_dir"]
    static let budgets = ["per_user_tokens_per_day", "per_channel_tokens_per_day", "per_server_tokens_per_day",
                          "notice_interval_seconds", "per_user_messages_per_minute", "prompt_usd_per_million",
                          "completion_usd_per_million", "cached_usd_per_million"]
    static let memory = ["enabled", "every_tokens", "max_tokens", "summary_tokens", "prompt", "fold_prompt"]
    static let persona = ["name", "display_name", "aliases", "avatar_url", "character", "user_system", "examples",
                          "greeting", "model", "trigger", "max_reply_characters", "action_marker", "alternate_greetings",
                          "group_greetings", "post_history", "examples_extra", "memory_prompt", "content_rating"]
    static let personaModel = ["temperature", "top_p", "max_output_tokens"]
    static let example = ["user", "ai"]

    /// Value kinds for loosely validated platform keys.
    enum Kind {
        case string, int, number, bool, strings, ints, secret
        /// `relays`: a list of relay-bot entries (`ConfigLoader+Relays`).
        case relays
    }

    static let platformNames = ["console", "discord", "irc", "matrix", "jsonl"]

    /// Platform keys and their kinds; a `secret` key `k` also accepts `k_file`.
    static let platforms: [String: [String: Kind]] = [
        "console": ["enabled": .bool, "speaker": .string, "channel": .string, "color": .bool, "relays": .relays],
        "jsonl": ["enabled": .bool, "server": .string, "moderators": .strings, "relays": .relays],
        "discord": [
            "enabled": .bool, "token": .secret, "application_id": .string, "intents": .strings, "shard_ids": .ints,
            "shard_count": .int, "api_base_url": .string, "gateway_url": .string, "user_agent": .string,
            "use_webhooks": .bool, "slash_commands": .string, "command_guilds": .strings,
            "catch_up_window_seconds": .number, "ca_file": .string, "verify_tls": .bool, "bots": .strings,
            "controls": .string, "dm_personas": .strings, "relays": .relays,
            // Proxies (PluralKit, Tupperbox): see ConfigLoader+Proxies.swift.
            "proxy_wait_ms": .int, "pluralkit_api": .string, "proxy_channels": .strings,
        ],
        "irc": [
            "enabled": .bool, "network": .string, "host": .string, "port": .int, "tls": .bool, "verify_tls": .bool,
            "ca_file": .string, "server_password": .secret, "nick": .string, "alt_nicks": .strings,
            "username": .string, "realname": .string, "sasl_account": .string, "sasl_password": .secret,
            "nickserv_password": .secret, "halfops_are_moderators": .bool, "rejoin_on_kick": .bool,
            "flood_burst": .int, "flood_rate": .number, "ctcp_action": .bool, "bots": .strings,
            "mature_channels": .strings, "dm_personas": .strings, "relays": .relays,
        ],
        "matrix": [
            "enabled": .bool, "homeserver_url": .string, "user_id": .string, "access_token": .secret,
            "password": .secret, "device_id": .string, "device_name": .string, "invite_allowlist": .strings,
            "moderator_power_level": .int, "max_edits_per_reply": .int, "ca_file": .string, "verify_tls": .bool,
            "bots": .strings, "mature_channels": .strings, "dm_personas": .strings, "relays": .relays,
            // Appservice mode (`mode = "appservice"`).
            "mode": .string, "server_name": .string, "appservice_id": .string, "listen_address": .string,
            "listen_port": .int, "appservice_url": .string, "user_prefix": .string, "sender_localpart": .string,
            "as_token_path": .string, "hs_token_path": .string, "registration_path": .string, "rate_limited": .bool,
            "max_transaction_bytes": .int,
        ],
    ]

    /// Every accepted key of a platform section, `*_file` variants included.
    static func platformKeys(_ platform: String) -> [String] {
        let kinds = platforms[platform] ?? [:]
        return kinds.keys.sorted() + kinds.filter { $0.value == .secret }.keys.sorted().map { $0 + "_file" }
    }
}
