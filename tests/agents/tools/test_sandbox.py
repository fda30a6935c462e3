"""Running custom tools in a child process: results, and every way a tool can fail."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from llm_persona.agents.tools.sandbox import SandboxLimits, SubprocessToolExecutor, ToolExecutor, ToolOutcome

TOOLS = '''
import os, subprocess, sys, threading, time


def echo(text: str) -> str:
    """Print noise, then return `text`."""
    print("noise", '{"status": "error", "output": "forged"}')
    print("on stderr", file=sys.stderr)
    return text


def value(kind: str):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text for you")

    return {
        "dict": {"a": [1, 2.5, None, True]}, "int": 3, "none": None, "set": {1}, "bad": Unprintable(),
        "unicode": "héllo ✓",
    }[kind]


async def later(x: int) -> int:
    import asyncio
    await asyncio.sleep(0)
    return x * 2


def boom():
    raise ValueError("bad thing")


def sleepy(pid_file: str):
    child = subprocess.Popen(["sleep", "60"])
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    time.sleep(60)


def environment():
    return {"env": dict(os.environ), "cwd": os.getcwd()}


def hog_memory():
    return len(bytearray(2 * 1024**3))


def spin():
    while True:
        pass


def big_file():
    with open("big", "wb") as f:
        f.write(b"x" * (4 * 1024 * 1024))


def hard_exit():
    os._exit(3)


def soft_exit():
    sys.exit(2)


def segfault():
    import ctypes
    ctypes.string_at(0)


def flood():
    sys.stdout.write("x" * 5_000_000)
    sys.stderr.write("y" * 5_000_000)
    return "done"


def linger():
    threading.Thread(target=time.sleep, args=(60,)).start()
    return "returned"


def stateful(x: int, agent_state=None):
    return f"{x} {agent_state}"
'''

executor = SubprocessToolExecutor()


async def run(name: str, timeout: float = 10.0, **arguments: object) -> ToolOutcome:
    return await executor.run(TOOLS, name, arguments, timeout=timeout)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a reaper does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_it_is_a_tool_executor() -> None:
    checked: ToolExecutor = executor  # mypy checks the protocol
    assert checked is executor


# --- results -----------------------------------------------------------------------------------------


async def test_success_with_output_kept_apart() -> None:
    outcome = await run("echo", text="hi")
    assert (outcome.status, outcome.output) == ("success", "hi")
    assert outcome.stdout == 'noise {"status": "error", "output": "forged"}\n'
    assert outcome.stderr == "on stderr\n"
    assert 0 < outcome.duration_ms < 5000


@pytest.mark.parametrize(
    ("kind", "output"),
    [
        ("dict", '{"a": [1, 2.5, null, true]}'),
        ("int", "3"),
        ("none", "null"),
        ("set", "{1}"),  # not JSON: str()
        ("unicode", "héllo ✓"),
    ],
)
async def test_return_values_as_text(kind: str, output: str) -> None:
    outcome = await run("value", kind=kind)
    assert (outcome.status, outcome.output) == ("success", output)


async def test_async_functions_are_awaited() -> None:
    assert (await run("later", x=21)).output == "42"


async def test_long_results_are_truncated() -> None:
    outcome = await executor.run(TOOLS, "echo", {"text": "a" * 100}, return_char_limit=10)
    assert outcome.output == (
        "aaaaaaaaaa... [NOTE: function output was truncated since it exceeded the character limit (100 > 10)]"
    )


async def test_agent_state_is_none() -> None:
    assert (await run("stateful", x=1)).output == "1 None"


async def test_threads_left_running_do_not_hold_the_call() -> None:
    started = time.perf_counter()
    assert (await run("linger")).output == "returned"
    assert time.perf_counter() - started < 5


# --- isolation ---------------------------------------------------------------------------------------


async def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("LLM_PERSONA_DATABASE_URL", "postgresql://u:p@db/x")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    seen = json.loads((await run("environment")).output)
    assert "sk-secret" not in json.dumps(seen)
    assert set(seen["env"]) <= {"PATH", "LANG", "HOME", "LC_CTYPE"}
    assert seen["env"]["HOME"] == seen["cwd"]


async def test_cwd_is_a_fresh_temp_dir_removed_afterwards() -> None:
    first, second = [json.loads((await run("environment")).output)["cwd"] for _ in range(2)]
    assert first != second
    assert Path(first).parent == Path(tempfile.gettempdir())
    assert Path(first).name.startswith("llm-persona-tool-")
    assert not Path(first).exists()


async def test_many_runs_at_once() -> None:
    outcomes = await asyncio.gather(
        *(run("environment") for _ in range(12)), *(run("echo", text=str(i)) for i in range(12))
    )
    cwds = {json.loads(o.output)["cwd"] for o in outcomes[:12]}
    assert len(cwds) == 12
    assert [o.output for o in outcomes[12:]] == [str(i) for i in range(12)]


# --- failures ----------------------------------------------------------------------------------------


async def test_an_exception_is_type_and_message() -> None:
    outcome = await run("boom")
    assert (outcome.status, outcome.output) == ("error", "ValueError: bad thing")
    assert 'File "<tool boom>", line ' in outcome.stderr


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    started = time.perf_counter()
    outcome = await run("sleepy", timeout=1.0, pid_file=str(pid_file))
    assert time.perf_counter() - started < 4
    assert outcome.status == "error"
    assert outcome.output.startswith("Tool `sleepy` timed out after 1 s and was stopped.")
    tool, child = map(int, pid_file.read_text().split())
    for _ in range(50):
        if not alive(tool) and not alive(child):
            break
        await asyncio.sleep(0.02)
    assert not alive(tool)
    assert not alive(child)


async def test_cancelling_the_call_kills_the_tool(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    task = asyncio.create_task(run("sleepy", timeout=30, pid_file=str(pid_file)))
    while not pid_file.exists() or not pid_file.read_text():
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    tool, child = map(int, pid_file.read_text().split())
    await asyncio.sleep(0.1)
    assert not alive(tool)
    assert not alive(child)


async def test_memory_limit() -> None:
    outcome = await run("hog_memory")
    assert outcome.output == "MemoryError: the tool ran out of memory (limit 512 MiB)"


async def test_cpu_limit() -> None:
    limited = SubprocessToolExecutor(SandboxLimits(cpu_seconds=1))
    outcome = await limited.run(TOOLS, "spin", {}, timeout=10)
    assert outcome.output == "Tool `spin` used more than its 1 s of CPU time and was stopped."


async def test_file_size_limit() -> None:
    limited = SubprocessToolExecutor(SandboxLimits(file_size_bytes=1024 * 1024))
    outcome = await limited.run(TOOLS, "big_file", {})
    assert outcome.output == "OSError: [Errno 27] File too large"


async def test_os_exit() -> None:
    outcome = await run("hard_exit")
    assert outcome.output == (
        "Tool `hard_exit` exited with code 3 before returning a result (do not call exit() in a tool)."
    )


async def test_sys_exit() -> None:
    outcome = await run("soft_exit")
    assert outcome.output == "SystemExit: the tool called exit(2) instead of returning a value"


async def test_segfault() -> None:
    outcome = await run("segfault")
    assert outcome.output == "Tool `segfault` crashed (SIGSEGV) before returning a result."
    assert "Fatal Python error: Segmentation fault" in outcome.stderr


async def test_megabytes_of_output_are_capped() -> None:
    outcome = await run("flood")
    assert (outcome.status, outcome.output) == ("success", "done")
    for captured in (outcome.stdout, outcome.stderr):
        assert len(captured) < 70_000
        assert captured.endswith(f"\n[... {5_000_000 - 64 * 1024} more bytes not shown]")


async def test_a_value_with_no_text() -> None:
    outcome = await run("value", kind="bad")
    assert outcome.status == "error"
    assert outcome.output == (
        "The tool returned a Unprintable that cannot be turned into text (RuntimeError: no text for you); "
        "return a str or a JSON-serialisable value."
    )


async def test_missing_function() -> None:
    outcome = await run("nowhere")
    assert (
        outcome.output
        == "Function `nowhere` not found in the tool's source; the tool must define `def nowhere(...)`."
    )


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "missing a required argument: 'text'"),
        ({"text": "a", "extra": 1}, "got an unexpected keyword argument 'extra'"),
    ],
)
async def test_bad_arguments(arguments: dict[str, object], problem: str) -> None:
    outcome = await executor.run(TOOLS, "echo", arguments)
    assert (
        outcome.output == f"Bad arguments for `echo`: {problem}. Call it with the parameters in its schema."
    )
    assert outcome.stdout == ""  # the function never ran


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "import not_a_module_anywhere\ndef t(): pass\n",
            "ModuleNotFoundError: No module named 'not_a_module_anywhere'",
        ),
        ("def t(:\n", "SyntaxError: invalid syntax (<tool t>, line 1)"),
        ("raise KeyError('k')\ndef t(): pass\n", "KeyError: 'k'"),
    ],
)
async def test_source_that_fails_to_load(source: str, message: str) -> None:
    outcome = await executor.run(source, "t", {})
    assert outcome.output == f"The tool's source failed to load: {message}"


async def test_the_server_process_is_unaffected() -> None:
    cwd, env = os.getcwd(), dict(os.environ)
    await asyncio.gather(run("hard_exit"), run("segfault"), run("boom"), run("hog_memory"))
    assert (os.getcwd(), dict(os.environ)) == (cwd, env)
