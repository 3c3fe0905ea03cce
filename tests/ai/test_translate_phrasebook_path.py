"""Conversational formulas through the full private path (relay, gateway, an attested node):
a piece of formulas alone comes back from the phrasebook, a piece with content from the model
(privcloud.workloads.translate_phrasebook; the rendering itself: tests/unit/
test_translate_phrasebook.py)."""

from __future__ import annotations

import pytest

from aikit import models, needs_ai

pytestmark = needs_ai


@pytest.mark.slow
async def test_formulas_and_content_through_the_full_private_path() -> None:
    from privcloud.localcloud.cloud import LocalCloud, NodeSpec
    from privcloud.sdk import Client
    from privcloud.trust.admission import ClientPolicy

    cloud = LocalCloud(nodes=[NodeSpec("node-1", "eu-west")], models=models())
    async with (
        cloud,
        Client(
            cloud.relay_url,
            policy=ClientPolicy.insecure_local_dev(),
            wallet=cloud.new_wallet(batch_size=4),
            trust=cloud.client_trust(),
        ) as client,
    ):
        params = {"mode": "text", "source_language": "en", "target_language": "es"}
        result = await client.call("translate", params, b"Okay, thanks.")
        assert result.data.decode() == "De acuerdo, gracias."
        (piece,) = result.meta["sentences"]
        assert piece["status"] == "phrasebook" and piece["text"] == "De acuerdo, gracias."
        # A formula, then content: the content is the model's, its facts checked.
        text = b"Thanks for calling. Your train leaves at 9:45 from platform 4."
        result = await client.call("translate", params, text)
        content = [p for p in result.meta["sentences"] if "9:45" in p["source"]]
        assert len(content) == 1 and content[0]["status"] != "phrasebook"
        assert content[0]["facts"] >= 2
        # Content after a formula in one sentence is the model's too.
        result = await client.call("translate", params, b"Okay, thanks for the tickets.")
        (piece,) = result.meta["sentences"]
        assert piece["status"] != "phrasebook"
