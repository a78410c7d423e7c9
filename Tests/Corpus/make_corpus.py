#!/usr/bin/env python3
"""Writes the character card and lorebook test corpus (made by this project after the V2/V3 spec examples).

Run from anywhere: python3 Tests/Corpus/make_corpus.py. The output is committed; rerunning gives identical files.
"""
import base64, json, os, struct, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CARDS = os.path.join(HERE, "cards")
LORE = os.path.join(HERE, "lorebooks")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def dumps(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def png(texts=(), width=2, height=2, rgb=(200, 120, 40)):
    """A tiny RGB PNG with tEXt chunks (keyword, text) before IDAT."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    for keyword, text in texts:
        out += chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("ascii"))
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def b64(obj):
    return base64.b64encode(json.dumps(obj, ensure_ascii=False).encode()).decode()


def zip_bytes(members, method):
    path = os.path.join(HERE, ".tmp.zip")
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def entry(i, keys, content, **extra):
    e = {"id": i, "keys": keys, "content": content, "enabled": True, "insertion_order": 100 + i,
         "use_regex": False, "extensions": {}}
    e.update(extra)
    return e


BOOK = {
    "name": "Kestrel", "scan_depth": 3, "token_budget": 400, "recursive_scanning": True, "extensions": {},
    "entries": [
        entry(0, ["Kestrel", "airship"], "The Kestrel is a three-masted airship with a brass gasbag.",
              comment="Kestrel", priority=10, position="before_char"),
        entry(1, ["storm wall"], "The storm wall rings the northern sea; only the Kestrel has crossed it.",
              comment="Storm wall", position="after_char", selective=True, secondary_keys=["north", "cross"],
              extensions={"selectiveLogic": 0, "position": 1, "match_whole_words": True}),
        entry(2, ["/galley|kitchen/i"], "@@depth 2\n@@role system\nThe galley smells of burnt coffee.",
              comment="Galley", use_regex=True, extensions={"position": 4, "depth": 2, "role": 0, "probability": 100,
                                                             "useProbability": True, "sticky": 2}),
    ],
}

V2 = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
    "name": "Captain Rhea",
    "description": "{{char}} commands the airship Kestrel.",
    "personality": "brisk, loyal, dry humour",
    "scenario": "{{user}} has just come aboard the Kestrel.",
    "first_mes": "Welcome aboard, {{user}}. I'm {{char}}.",
    "mes_example": "<START>\n{{user}}: Where are we headed?\n{{char}}: North, past the storm wall.\n"
                   "<START>\n{{user}}: Any coffee?\n{{char}}: Galley, second door.\n"
                   "<START>\n{{user}}: Who built her?\n{{char}}: My grandmother.\n"
                   "<START>\n{{user}}: Can I steer?\n{{char}}: Not today.\n",
    "creator_notes": "Best with slow-burn adventure.", "system_prompt": "{{original}}Stay in character as {{char}}.",
    "post_history_instructions": "Keep replies under 120 words.",
    "alternate_greetings": ["*Rhea looks up from the charts.* You're late."],
    "character_book": BOOK, "tags": ["adventure", "airship"], "creator": "PersonaBridge tests",
    "character_version": "1.2", "extensions": {"talkativeness": "0.5", "depth_prompt": {"prompt": "", "depth": 4}},
}}

V3 = {"spec": "chara_card_v3", "spec_version": "3.0", "data": dict(V2["data"], **{
    "name": "Moss", "description": "{{char}} is a talking moss wall in the Kestrel's greenhouse.",
    "nickname": "Mossy", "group_only_greetings": ["*The moss rustles at the crowd.*"],
    "creation_date": 1767225600, "modification_date": 1767225600, "source": ["https://example.org/moss"],
    "creator_notes_multilingual": {"en": "A calm wall."},
    "assets": [{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"},
               {"type": "background", "uri": "embeded://assets/background/images/bg.png", "name": "bg", "ext": "png"}],
})}

V1 = {"name": "Old Tom", "description": "{{char}} keeps the lighthouse.", "personality": "gruff",
      "scenario": "A foggy night.", "first_mes": "Who goes there?",
      "mes_example": "<START>\n{{user}}: Evening.\n{{char}}: Is it?"}

ELIZA = {"name": "Nova", "username": "nova", "system": "Roleplay as Nova, the Kestrel's navigation AI.",
         "bio": ["Nova plots every course.", "Nova loves puns."], "lore": ["Installed in 2301."],
         "adjectives": ["witty", "calm"], "style": {"all": ["short sentences"], "chat": ["ask questions"], "post": []},
         "messageExamples": [[{"name": "{{user1}}", "content": {"text": "Heading?"}},
                              {"name": "Nova", "content": {"text": "Due north, {{user1}}."}}]],
         "topics": ["navigation"], "settings": {"voice": {"model": "x"}}}


def lore40():
    places = ["harbour", "lighthouse", "market", "quay", "chapel", "tavern", "mill", "bridge", "forge", "granary"]
    entries = []
    for i in range(40):
        place = places[i % 10]
        kind = i // 10  # 0 plain, 1 selective, 2 at depth, 3 constant/regex/timed
        e = {"id": i, "keys": [f"{place}{'' if kind == 0 else kind}"], "secondary_keys": [], "comment": f"{place} {kind}",
             "content": f"Lore {i}: the {place} of Harbour Town, detail {kind}. " + "It is old and well kept. " * 3,
             "enabled": True, "insertion_order": 100 + i, "priority": i % 7, "constant": False, "selective": False,
             "use_regex": False, "position": "before_char" if i % 2 == 0 else "after_char", "extensions": {}}
        if kind == 1:
            e.update(selective=True, secondary_keys=["night", "rain"])
            e["extensions"] = {"selectiveLogic": i % 4}
        elif kind == 2:
            e["extensions"] = {"position": 4, "depth": 1 + i % 5, "role": i % 3}
        elif kind == 3:
            if i == 30:
                e.update(constant=True, keys=[])
            elif i == 31:
                e.update(keys=[f"/{place}s?\\b/i"], use_regex=True)
            elif i == 32:
                e["extensions"] = {"sticky": 2, "cooldown": 1}
            elif i == 33:
                e["extensions"] = {"delay": 4}
            elif i == 34:
                e["extensions"] = {"probability": 50, "useProbability": True}
            elif i == 35:
                e["content"] = "@@depth 3\n@@role assistant\n" + e["content"]
        entries.append(e)
    return {"spec": "lorebook_v3", "data": {"name": "Harbour Town", "description": "A port with forty details.",
                                            "scan_depth": 4, "token_budget": 1200, "recursive_scanning": False,
                                            "extensions": {}, "entries": entries}}


WORLD_INFO = {"entries": {
    "0": {"uid": 0, "key": ["harbour"], "keysecondary": [], "comment": "Harbour", "content": "Boats bob in the harbour.",
          "constant": False, "selective": True, "selectiveLogic": 0, "order": 100, "position": 0, "disable": False,
          "excludeRecursion": False, "preventRecursion": False, "probability": 100, "useProbability": True, "depth": 4,
          "group": "", "scanDepth": None, "caseSensitive": None, "matchWholeWords": None, "role": None, "sticky": 0,
          "cooldown": 0, "delay": 0, "displayIndex": 0, "vectorized": False},
    "1": {"uid": 1, "key": ["lighthouse"], "keysecondary": ["fog"], "comment": "Lighthouse",
          "content": "Old Tom keeps the light.", "constant": False, "selective": True, "selectiveLogic": 3, "order": 90,
          "position": 4, "disable": False, "excludeRecursion": True, "preventRecursion": False, "probability": 100,
          "useProbability": True, "depth": 2, "role": 1, "scanDepth": 5, "caseSensitive": True,
          "matchWholeWords": False, "sticky": 1, "cooldown": 2, "delay": 0, "displayIndex": 1},
}}


def main():
    write(os.path.join(CARDS, "v1.json"), dumps(V1))
    write(os.path.join(CARDS, "v2.json"), dumps(V2))
    write(os.path.join(CARDS, "v3.json"), dumps(V3))
    write(os.path.join(CARDS, "v3-newer-version.json"), dumps(dict(V3, spec_version=3.5)))
    write(os.path.join(CARDS, "eliza.json"), dumps(ELIZA))
    write(os.path.join(CARDS, "v2.png"), png([("chara", b64(V2))]))
    # Both chunks: ccv3 (Moss) must win over chara (Captain Rhea).
    write(os.path.join(CARDS, "v3-and-v2.png"), png([("chara", b64(V2)), ("ccv3", b64(V3))], rgb=(40, 160, 90)))
    icon = png(rgb=(10, 200, 10))
    members = [("card.json", dumps(V3)), ("assets/icon/images/main.png", icon),
               ("assets/background/images/bg.png", png(rgb=(0, 0, 0)))]
    write(os.path.join(CARDS, "v3.charx"), zip_bytes(members, zipfile.ZIP_DEFLATED))
    write(os.path.join(CARDS, "v3-stored.charx"), zip_bytes(members, zipfile.ZIP_STORED))
    # Malformed, each with one clear problem.
    write(os.path.join(CARDS, "malformed", "not-json.json"), "{\"spec\": \"chara_card_v2\", \"data\": {\n")
    write(os.path.join(CARDS, "malformed", "no-name.json"),
          dumps({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"description": "nameless"}}))
    write(os.path.join(CARDS, "malformed", "no-data.json"), dumps({"spec": "chara_card_v3", "spec_version": "3.0"}))
    write(os.path.join(CARDS, "malformed", "not-a-card.json"), dumps({"hello": "world"}))
    write(os.path.join(CARDS, "malformed", "bad-lorebook.json"),
          dumps({"spec": "chara_card_v2", "spec_version": "2.0",
                 "data": dict(V1, character_book={"entries": [{"keys": ["x"]}]})}))
    write(os.path.join(CARDS, "malformed", "no-card.png"), png())
    write(os.path.join(CARDS, "malformed", "truncated.png"), png([("chara", b64(V2))])[:120])
    write(os.path.join(CARDS, "malformed", "bad-base64.png"), png([("chara", "!!!not base64!!!")]))
    write(os.path.join(CARDS, "malformed", "no-card-json.charx"), zip_bytes([("readme.txt", "hi")], zipfile.ZIP_DEFLATED))
    write(os.path.join(CARDS, "malformed", "truncated.charx"), zip_bytes(members, zipfile.ZIP_DEFLATED)[:300])
    corrupt = bytearray(zip_bytes([("card.json", dumps(V3))], zipfile.ZIP_STORED))
    corrupt[60] ^= 0xFF  # one byte of card.json flipped: the CRC-32 check must catch it
    write(os.path.join(CARDS, "malformed", "bad-crc.charx"), bytes(corrupt))

    write(os.path.join(LORE, "harbour-town.lorebook.json"), dumps(lore40()))
    write(os.path.join(LORE, "coast.worldinfo.json"), dumps(WORLD_INFO))
    write(os.path.join(LORE, "malformed", "bad-regex.lorebook.json"), dumps({"spec": "lorebook_v3", "data": {
        "entries": [entry(0, ["/[unclosed/", "ok"], "Broken key."), entry(1, [], "No keys, not constant.")]}}))
    write(os.path.join(LORE, "malformed", "no-entries.json"), dumps({"name": "empty"}))


if __name__ == "__main__":
    main()
