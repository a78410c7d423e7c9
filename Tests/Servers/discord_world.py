"""World model for discord_server.py: ids, default guild, permissions, message objects (stdlib only)."""

import re
import time
from datetime import datetime, timezone

DISCORD_EPOCH_MS = 1420070400000

# Gateway intents.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
# Application flags (GET /oauth2/applications/@me): the Message Content intent switch of the Developer Portal.
GATEWAY_MESSAGE_CONTENT = 1 << 18          # verified bots
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19  # bots in fewer than 100 servers
APP_FLAGS_MESSAGE_CONTENT = GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
VALID_INTENTS = (1 << 26) - 1  # bits 0..25 exist in v10

# Permission bits.
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
THREAD_TYPES = (10, 11, 12)
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMS = (VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ADD_REACTIONS | EMBED_LINKS
                  | ATTACH_FILES | USE_APPLICATION_COMMANDS | SEND_MESSAGES_IN_THREADS)

# Fixed ids of the default world, so tests can name them.
BOT_ID = "900000000000000001"          # bot user id == application id
GUILD_ID = "900000000000000100"        # @everyone role id == guild id
MOD_ROLE_ID = "900000000000000201"     # "Moderator": MANAGE_CHANNELS
BOT_ROLE_ID = "900000000000000202"     # "PersonaBridge": MANAGE_WEBHOOKS, MANAGE_MESSAGES
ADMIN_ROLE_ID = "900000000000000203"   # "Admin": ADMINISTRATOR
CHANNEL_IDS = ["900000000000000301", "900000000000000302", "900000000000000303",
               "900000000000000304", "900000000000000305"]
CHANNEL_NAMES = ["general", "roleplay", "tavern", "library", "garden"]
THREAD_ID = "900000000000000351"       # public thread in #general
OWNER_ID = "900000000000000401"
MOD_ID = "900000000000000402"
ALICE_ID = "900000000000000403"
BOB_ID = "900000000000000404"
ADMIN_ID = "900000000000000405"


def iso(ts=None):
    """ISO-8601 timestamp like Discord's."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc)
    return dt.isoformat(timespec="microseconds")


class Snowflakes:
    """Monotonic snowflake generator (worker 1)."""

    def __init__(self):
        self.last = 0
        self.increment = 0

    def next(self, at=None):
        ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH_MS
        self.increment = (self.increment + 1) & 0xFFF
        value = (ms << 22) | (1 << 17) | self.increment
        if at is None:
            value = max(value, self.last + 1)
            self.last = value
        return str(value)


def user(uid, name, bot=False):
    return {"id": uid, "username": name, "global_name": name.capitalize(), "discriminator": "0",
            "avatar": None, "bot": bot, "public_flags": 0}


def default_world():
    """The default guild: 5 text channels, one thread, roles, members (owner, mod, admin, alice, bob, bot)."""
    users = {
        BOT_ID: user(BOT_ID, "personabridge", bot=True),
        OWNER_ID: user(OWNER_ID, "owner"),
        MOD_ID: user(MOD_ID, "moderator"),
        ALICE_ID: user(ALICE_ID, "alice"),
        BOB_ID: user(BOB_ID, "bob"),
        ADMIN_ID: user(ADMIN_ID, "admin"),
    }
    roles = [
        {"id": GUILD_ID, "name": "@everyone", "permissions": str(EVERYONE_PERMS), "position": 0},
        {"id": MOD_ROLE_ID, "name": "Moderator", "permissions": str(MANAGE_CHANNELS | MANAGE_MESSAGES),
         "position": 2},
        {"id": BOT_ROLE_ID, "name": "PersonaBridge", "permissions": str(MANAGE_WEBHOOKS | MANAGE_MESSAGES),
         "position": 1, "managed": True, "tags": {"bot_id": BOT_ID}},
        {"id": ADMIN_ROLE_ID, "name": "Admin", "permissions": str(ADMINISTRATOR), "position": 3},
    ]
    for role in roles:
        role.update({"color": 0, "hoist": False, "managed": role.get("managed", False), "mentionable": False,
                     "icon": None, "unicode_emoji": None, "flags": 0})
    channels = [{"id": cid, "type": 0, "guild_id": GUILD_ID, "name": name, "position": i, "topic": None,
                 "nsfw": False, "last_message_id": None, "rate_limit_per_user": 0, "parent_id": None,
                 "permission_overwrites": []}
                for i, (cid, name) in enumerate(zip(CHANNEL_IDS, CHANNEL_NAMES))]
    threads = [{"id": THREAD_ID, "type": 11, "guild_id": GUILD_ID, "name": "side-quest", "parent_id": CHANNEL_IDS[0],
                "owner_id": ALICE_ID, "last_message_id": None, "rate_limit_per_user": 0, "message_count": 0,
                "member_count": 1, "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                                       "archive_timestamp": iso(), "locked": False}}]
    members = [
        {"user_id": BOT_ID, "roles": [BOT_ROLE_ID]},
        {"user_id": OWNER_ID, "roles": []},
        {"user_id": MOD_ID, "roles": [MOD_ROLE_ID]},
        {"user_id": ALICE_ID, "roles": []},
        {"user_id": BOB_ID, "roles": []},
        {"user_id": ADMIN_ID, "roles": [ADMIN_ROLE_ID]},
    ]
    guild = {"id": GUILD_ID, "name": "Fake Guild", "owner_id": OWNER_ID, "roles": roles, "channels": channels,
             "threads": threads, "members": members}
    return users, {GUILD_ID: guild}


def member_object(member, users):
    return {"user": users.get(member["user_id"], user(member["user_id"], "user" + member["user_id"][-4:])),
            "roles": list(member.get("roles", [])), "nick": member.get("nick"), "joined_at": iso(0),
            "deaf": False, "mute": False, "flags": 0, "pending": False, "avatar": None,
            "premium_since": None, "communication_disabled_until": None}


def guild_create_payload(guild, users, with_all_members):
    """GUILD_CREATE d: the full guild, with only the bot's member unless GUILD_MEMBERS is on."""
    members = [m for m in guild["members"] if with_all_members or m["user_id"] == BOT_ID]
    return {
        "id": guild["id"], "name": guild["name"], "owner_id": guild["owner_id"], "icon": None, "splash": None,
        "unavailable": False, "large": False, "member_count": len(guild["members"]), "joined_at": iso(0),
        "roles": [dict(r) for r in guild["roles"]], "channels": [dict(c) for c in guild["channels"]],
        "threads": [dict(t) for t in guild["threads"]], "members": [member_object(m, users) for m in members],
        "features": [], "emojis": [], "stickers": [], "voice_states": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": [], "system_channel_id": guild["channels"][0]["id"]
        if guild["channels"] else None, "preferred_locale": "en-US", "premium_tier": 0, "mfa_level": 0,
        "verification_level": 0, "explicit_content_filter": 0, "default_message_notifications": 0,
        "nsfw_level": 0, "afk_timeout": 300, "afk_channel_id": None, "application_id": None,
    }


def find_channel(guilds, channel_id):
    """(guild, channel) for a channel or thread id, or (None, None)."""
    for guild in guilds.values():
        for channel in guild["channels"] + guild["threads"]:
            if channel["id"] == channel_id:
                return guild, channel
    return None, None


def find_member(guild, user_id):
    return next((m for m in guild["members"] if m["user_id"] == user_id), None)


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def channel_permissions(guild, channel, user_id):
    """Discord's algorithm: base from @everyone and roles, then overwrites everyone → roles → member."""
    if guild is None:
        return ALL_PERMISSIONS  # DMs
    if user_id == guild["owner_id"]:
        return ALL_PERMISSIONS
    member = find_member(guild, user_id)
    if member is None:
        return 0
    roles = {r["id"]: r for r in guild["roles"]}
    perms = as_int(roles.get(guild["id"], {}).get("permissions"))
    for rid in member.get("roles", []):
        perms |= as_int(roles.get(rid, {}).get("permissions"))
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel is None:
        return perms
    if channel.get("type") in (10, 11, 12) and channel.get("parent_id"):
        _, parent = find_channel({guild["id"]: guild}, channel["parent_id"])
        channel = parent or channel
    overwrites = {o["id"]: o for o in channel.get("permission_overwrites", [])}
    everyone = overwrites.get(guild["id"])
    if everyone:
        perms = (perms & ~as_int(everyone.get("deny"))) | as_int(everyone.get("allow"))
    allow = deny = 0
    for rid in member.get("roles", []):
        o = overwrites.get(rid)
        if o:
            allow |= as_int(o.get("allow"))
            deny |= as_int(o.get("deny"))
    perms = (perms & ~deny) | allow
    o = overwrites.get(user_id)
    if o and int(o.get("type", 1)) == 1:
        perms = (perms & ~as_int(o.get("deny"))) | as_int(o.get("allow"))
    return perms


MENTION_USER = re.compile(r"<@!?(\d+)>")
MENTION_ROLE = re.compile(r"<@&(\d+)>")


def pings(content, allowed_mentions):
    """What a message would ping: {"users", "roles", "everyone"} after allowed_mentions (absent = parse all)."""
    content = content or ""
    users = MENTION_USER.findall(content)
    roles = MENTION_ROLE.findall(content)
    everyone = "@everyone" in content or "@here" in content
    if not isinstance(allowed_mentions, dict):
        return {"users": users, "roles": roles, "everyone": everyone}
    parse = allowed_mentions.get("parse") or []
    allowed_users = set(allowed_mentions.get("users") or [])
    allowed_roles = set(allowed_mentions.get("roles") or [])
    return {"users": [u for u in users if "users" in parse or u in allowed_users],
            "roles": [r for r in roles if "roles" in parse or r in allowed_roles],
            "everyone": everyone and "everyone" in parse}
