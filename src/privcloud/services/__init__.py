"""Thin asyncio HTTP shells (aiohttp) around the sans-IO cores: relay, gateway, node."""
