"""The key store: keys are shown once and stored only as salted hashes, in a file only its owner reads."""

from __future__ import annotations

import json
import stat

import pytest

from data_contracts.errors import InputError
from pipelines.key_store import PREFIX, ROLES, KeyStore, create_key, list_keys, revoke_key


def test_create_list_and_revoke(tmp_path):
    f = tmp_path / "keys" / "api_keys.json"  # the folder is created
    keys = {role: create_key(f, role, name=f"{role}-key") for role in ROLES}
    listed = list_keys(f)
    assert [(k["name"], k["role"]) for k in listed] == [(f"{r}-key", r) for r in ROLES]
    assert all(set(k) == {"key_id", "name", "role", "created"} for k in listed)  # never the salt or hash
    store = KeyStore(f)
    assert len(store) == 3
    for role, key in keys.items():
        assert key.startswith(PREFIX + "_") and store.verify(key).role == role
    kid = keys["fund_manager"].split("_")[1]
    assert revoke_key(f, kid)
    assert not revoke_key(f, kid)  # already gone
    assert KeyStore(f).verify(keys["fund_manager"]) is None
    assert KeyStore(f).verify(keys["credit_officer"]).role == "credit_officer"
    assert [k["role"] for k in list_keys(f)] == ["credit_officer", "data_scientist"]


def test_only_salted_hashes_are_stored_in_an_owner_only_file(tmp_path):
    f = tmp_path / "api_keys.json"
    k1 = create_key(f, "credit_officer")
    k2 = create_key(f, "credit_officer")
    raw = f.read_text()
    for key in (k1, k2):
        assert key not in raw and key.split("_", 2)[2] not in raw
    entries = json.loads(raw)["keys"]
    assert all(len(e["salt"]) == 32 and len(e["sha256"]) == 64 for e in entries)
    assert entries[0]["salt"] != entries[1]["salt"]
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    revoke_key(f, k1.split("_")[1])  # a rewrite keeps the mode
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".keys-*"))  # no temporary file left behind


@pytest.mark.parametrize("bad", [None, "", "garbage", "ipr_", "ipr_onlyid", "ipr_nothere_secret", "Bearer ipr_x_y"])
def test_malformed_or_unknown_keys_are_refused(tmp_path, bad):
    f = tmp_path / "api_keys.json"
    key = create_key(f, "data_scientist")
    store = KeyStore(f)
    assert store.verify(bad) is None
    kid, secret = key.split("_", 2)[1:]
    assert store.verify(f"{PREFIX}_{kid}_{secret[:-1]}") is None  # right id, wrong secret


def test_bad_role_and_broken_file_are_input_errors(tmp_path):
    f = tmp_path / "api_keys.json"
    with pytest.raises(InputError, match="role 'admin'"):
        create_key(f, "admin")
    assert not f.exists()
    f.write_text("{not json")
    with pytest.raises(InputError, match="not a valid key store"):
        KeyStore(f)
    assert len(KeyStore(tmp_path / "missing.json")) == 0
