"""`lockstep chat --model PATH [--backend B]`: a conversation in the terminal, streamed, with
the model's own chat template. In a terminal it is a REPL (line editing, Ctrl-C stops a
reply, Ctrl-D leaves); with stdin from a pipe or file it reads one user message per line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lockstep.cli.registry import command
from lockstep.cli.sampling_flags import add_sampling_flags, sampling_from_args
from lockstep.errors import ExitCode

HELP = """commands:
  /help           this list
  /clear          forget the conversation (the system prompt stays)
  /system TEXT    set the system prompt (an empty TEXT removes it)
  /metrics        the last turn's and the session's timings
  /save FILE      write the conversation as JSON (crossval --messages FILE reads it)
  /exit           leave (Ctrl-D too); Ctrl-C stops a reply"""


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF file or Hugging Face model folder")
    parser.add_argument("--backend", default="native", choices=["native", "llama.cpp", "hf"])
    parser.add_argument("--prompt-template", default="auto",
                        choices=["auto", "raw", "instruct", "llama3-chat", "chatml", "jinja"])
    parser.add_argument("--chat-template", metavar="FILE", help="a Jinja chat template to render instead of the model's")
    parser.add_argument("--system-prompt", help="the system prompt (default: none, or the template's own)")
    add_sampling_flags(parser, max_tokens=256)
    parser.add_argument("--threads", type=int, default=None, help="threads of the engine (default: all cores)")
    parser.add_argument("--receipt-dir", metavar="DIR", help="write a receipt of every turn into DIR (docs/receipt-json.md)")


@command("chat", _configure)
def run(args: argparse.Namespace) -> int:
    """Talk to a model in the terminal (one message per line from a pipe)."""
    from lockstep.backends.chat import ChatSession
    from lockstep.backends.loading import load

    settings = sampling_from_args(args)
    model = load(args.model, args.backend, n_threads=args.threads)
    session = ChatSession(model, args.model, template=args.prompt_template, chat_template=args.chat_template,
                          system_prompt=args.system_prompt, settings=settings)
    session.render([{"role": "user", "content": "hello"}])  # a broken template fails now (exit 4), not mid-conversation
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())

        print(f"lockstep chat: {args.model} on {model.name()}. /help for commands, Ctrl-D to leave.", file=sys.stderr)
    while True:
        line = _read_line(interactive)
        if line is None:
            break
        if not line.strip():
            continue
        if line.startswith("/"):
            if not _command(line, session, interactive):
                break
            continue
        turn = session.reply(line, on_text=_show)
        print(flush=True)
        if turn.record.stop_reason == "interrupted":
            print("[reply stopped]", file=sys.stderr)
        if args.receipt_dir:
            _write_turn_receipt(args, session, model, len(session.turns) - 1)
    return ExitCode.OK


def _read_line(interactive: bool) -> str | None:
    """The next user line; None at the end of input (Ctrl-D, end of the pipe)."""
    if not interactive:
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None
    while True:
        try:
            return input("> ")
        except EOFError:
            print(file=sys.stderr)
            return None
        except KeyboardInterrupt:  # at the prompt: a fresh line, not an exit
            print("\n(Ctrl-D or /exit to leave)", file=sys.stderr)


def _show(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _command(line: str, session, interactive: bool) -> bool:
    """Runs one /command; False to leave."""
    name, _, rest = line.partition(" ")
    if name == "/exit":
        return False
    if name == "/help":
        print(HELP)
    elif name == "/clear":
        session.clear()
        print("[conversation cleared]")
    elif name == "/system":
        session.system_prompt = rest.strip() or None
        print(f"[system prompt {'set' if session.system_prompt else 'removed'}]")
    elif name == "/metrics":
        print(_metrics(session))
    elif name == "/save":
        if not rest.strip():
            print("[/save needs a file name]")
        else:
            path = Path(rest.strip()).expanduser()
            try:
                path.write_text(json.dumps(session.conversation(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                print(f"[saved {len(session.conversation())} messages to {path}]")
            except OSError as error:
                print(f"[cannot save: {error}]")
    else:
        print(f"[unknown command {name}; /help lists them]")
    sys.stdout.flush()
    return True


def _metrics(session) -> str:
    if not session.turns:
        return "[no turns yet]"
    last = session.turns[-1]
    r = last.record
    lines = [
        f"last turn: {r.prompt_tokens} prompt tokens, {r.prefilled_tokens} prefilled "
        f"({r.prompt_tokens - r.prefilled_tokens} reused from the KV cache), {len(r.tokens)} generated; "
        f"stop: {r.stop_reason}",
        f"  tokenize {last.tokenize_ms:.1f} ms, prefill {r.prefill_ms:.1f} ms, first token {r.first_token_ms:.1f} ms, "
        f"decode {r.tokens_per_second:.1f} tokens/s",
    ]
    turns = session.turns
    prefilled = sum(t.record.prefilled_tokens for t in turns)
    generated = sum(len(t.record.tokens) for t in turns)
    prefill_ms = sum(t.record.prefill_ms for t in turns)
    decode_ms = sum(t.record.decode_ms for t in turns)
    steps = sum(max(len(t.record.tokens) - 1, 0) for t in turns)
    rate = steps / (decode_ms / 1000) if decode_ms > 0 else 0.0
    lines.append(f"session: {len(turns)} turns, {prefilled} tokens prefilled in {prefill_ms:.1f} ms, "
                 f"{generated} generated at {rate:.1f} tokens/s")
    return "\n".join(lines)


def _write_turn_receipt(args: argparse.Namespace, session, model, index: int) -> None:
    from lockstep.dispatch.receipt import generation_receipt, write_receipt

    turn = session.turns[index]
    receipt = generation_receipt(
        "chat", argv=sys.argv, flags={k: v for k, v in vars(args).items() if k != "run"}, model_path=args.model,
        model=model, settings=session.settings, prompt_ids=turn.prompt_ids, record=turn.record,
        tokenize_ms=turn.tokenize_ms, stop_ids=session.stop_ids, template=turn.prompt,
        result={"turn": index, "user": turn.user, "text": turn.reply, "messages": session.conversation()},
    )
    print(f"receipt: {write_receipt(args.receipt_dir, receipt)}", file=sys.stderr)

