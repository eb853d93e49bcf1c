"""The paper's planner: a vision-language model that writes tagged reasoning and three retouch tokens,
and a retouch head that turns the tokens' hidden states into the renderer's control latents.

``latents = head([h(<retouch_light>), h(<retouch_color&temp>), h(<retouch_colormixer>)])`` with ``h``
the language model's last-layer hidden state (after its final norm) at the first occurrence of each
retouch token in the answer, and ``head`` the MLP ``3d -> 1.5d -> 1.5d -> latent_dim`` (LayerNorm +
GELU after each hidden layer; the paper: 2688 -> 1344 -> 1344 -> 2688 for d = 896).

Any image-text-to-text checkpoint that transformers' Auto classes load works as the base; tested on
tiny random Qwen2-VL, Qwen2.5-VL, Idefics3 (SmolVLM v1) and LLaVA configurations (docs/vlm-planner.md).
A saved planner is the base model's folder (weights, tokenizer and processor, with the planner
tokens added) plus `HEAD_WEIGHTS` and `PLANNER_CONFIG`.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

try:
    import transformers
    from tokenizers import AddedToken
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(f"the VLM planner needs transformers ({error}); pip install 'veraretouch[vlm]'") from None

from ..errors import VeraRetouchError
from .base import PLANNER_SIDE, PlannerOutput, check_mode
from .features import planner_copy
from .vlm_tokens import PLANNER_TOKENS, RETOUCH_TOKENS, build_prompt, reasoning_of

PLANNER_CONFIG = "retouch_planner.json"
HEAD_WEIGHTS = "retouch_head.safetensors"
PER_TOKEN_INPUTS = {"input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids"}


@dataclass
class VLMPlannerConfig:
    """``latent_dim``: the renderer's (192 for the shipped one). Sampling as the paper: temperature 0.2,
    top-p 0.8 (temperature 0 decodes greedily); fewer than ~700 new tokens can cut the answer short."""

    latent_dim: int = 192
    max_new_tokens: int = 1024
    temperature: float = 0.2
    top_p: float = 0.8
    image_side: int = PLANNER_SIDE
    head_output_scale: float = 0.01
    """The head's last layer starts this much smaller than PyTorch's default, so an untrained planner
    proposes near-identity edits while gradients still reach the language model (a zero layer would not)."""


class RetouchHead(nn.Module):
    """``(B, 3d) -> (B, latent_dim)``: Linear 3d -> 1.5d, LayerNorm, GELU, Linear 1.5d -> 1.5d,
    LayerNorm, GELU, Linear 1.5d -> latent_dim."""

    def __init__(self, hidden_size: int, latent_dim: int, output_scale: float = 1.0) -> None:
        super().__init__()
        inner = 3 * hidden_size // 2
        self.net = nn.Sequential(nn.Linear(3 * hidden_size, inner), nn.LayerNorm(inner), nn.GELU(),
                                 nn.Linear(inner, inner), nn.LayerNorm(inner), nn.GELU(), nn.Linear(inner, latent_dim))
        with torch.no_grad():
            self.net[-1].weight.mul_(output_scale)
            self.net[-1].bias.zero_()

    def forward(self, token_states: torch.Tensor) -> torch.Tensor:
        return self.net(token_states)


# ------------------------------------------------------------------------------------------ functional core
def retouch_positions(input_ids: torch.Tensor, retouch_ids: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """``(B, L)`` ids, ``(3,)`` retouch token ids, ``(B,)`` answer starts -> ``(B, 3)`` index of each
    retouch token's first occurrence at or after the answer start (a prompt could mention one)."""
    after_start = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :, None] >= starts[:, None, None]
    hits = (input_ids[:, :, None] == retouch_ids.to(input_ids.device)) & after_start
    missing = ~hits.any(dim=1)
    if missing.any():
        rows = missing.any(dim=1).nonzero().flatten().tolist()
        raise ValueError(
            f"rows {rows} have no retouch token {[RETOUCH_TOKENS[i] for i in missing.any(0).nonzero().flatten()]}"
        )
    return hits.int().argmax(dim=1)


def finish_answer(generated: list[int], retouch_ids: list[int], stop_ids: set[int]) -> tuple[list[int], bool]:
    """The generated ids up to the first stop token, with the retouch tokens it lacks appended in
    order; and whether any had to be appended. Hidden states at a token depend only on what precedes
    it, so appending is the same as forcing the tokens at the point where generation stopped."""
    end = next((i for i, token in enumerate(generated) if token in stop_ids), len(generated))
    answer = list(generated[:end])
    missing = [token for token in retouch_ids if token not in answer]
    return answer + missing, bool(missing)


def answer_cross_entropy(output_embeddings: nn.Module, hidden: torch.Tensor, input_ids: torch.Tensor,
                         answer_mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the answer tokens: the logits at ``t`` predict ``t + 1``;
    only answer positions are projected to the vocabulary (a full-sequence logit tensor is large)."""
    targets = answer_mask[:, 1:]
    logits = output_embeddings(hidden[:, :-1][targets]).float()
    return nn.functional.cross_entropy(logits, input_ids[:, 1:][targets])


def to_pil(images: torch.Tensor | list[torch.Tensor], side: int) -> list[Image.Image]:
    """``(B, 3, H, W)`` (or a list of ``(3, H, W)``) sRGB in [0, 1] -> 8-bit RGB images, long side at most ``side``."""
    pictures = []
    for image in images:
        small = planner_copy(image[None].detach().float().cpu(), side)[0].clamp(0, 1)
        pictures.append(Image.fromarray(np.ascontiguousarray((small * 255).round().byte().permute(1, 2, 0).numpy())))
    return pictures


# ------------------------------------------------------------------------------------------ loading
def _processor_class_name(folder: Path, model_type: str) -> str | None:
    for name in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        path = folder / name
        if path.exists():
            value = json.loads(path.read_text()).get("processor_class")
            if value:
                return value
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    return PROCESSOR_MAPPING_NAMES.get(model_type)


def load_processor(folder: Path, model_type: str):
    """The checkpoint's processor, offline. Qwen2-VL-style processors also hold a video processor,
    which needs torchvision (and its config file); where either is missing they load without one
    (images only, all the planner uses)."""
    class_name = _processor_class_name(folder, model_type)
    processor_class = getattr(transformers, class_name, None) if class_name else None
    if processor_class is None:
        return AutoProcessor.from_pretrained(folder, local_files_only=True)
    try:
        return processor_class.from_pretrained(folder, local_files_only=True)
    except (ImportError, OSError) as error:
        if "video" not in str(error).lower():
            raise
    return image_only_processor_class(processor_class).from_pretrained(folder, local_files_only=True)


def image_only_processor_class(processor_class: type) -> type:
    """``processor_class`` without its video processor: same name (so saved files name the original
    class), constructed, loaded and saved from the image processor and tokenizer alone."""
    attributes = [name for name in processor_class.get_attributes() if name != "video_processor"]
    return type(processor_class.__name__, (processor_class,), {"get_attributes": classmethod(lambda cls: attributes)})


def _check_checkpoint(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        raise VeraRetouchError(f"{folder}: not a model checkpoint folder (no config.json)")


def _saved_config(folder: Path) -> VLMPlannerConfig | None:
    """The planner config of a saved planner (None for a base VLM); unknown keys are ignored."""
    path = folder / PLANNER_CONFIG
    if not path.is_file():
        return None
    if not (folder / HEAD_WEIGHTS).is_file():
        raise VeraRetouchError(f"{folder}: has {PLANNER_CONFIG} but no {HEAD_WEIGHTS}")
    fields = {field.name for field in dataclasses.fields(VLMPlannerConfig)}
    return VLMPlannerConfig(**{key: value for key, value in json.loads(path.read_text()).items() if key in fields})


# ------------------------------------------------------------------------------------------ the planner
class VLMPlanner(nn.Module):
    """A transformers VLM (``model``, its ``processor``) with the planner tokens and a `RetouchHead`."""

    def __init__(self, model: nn.Module, processor, config: VLMPlannerConfig | None = None,
                 head: RetouchHead | None = None) -> None:
        super().__init__()
        self.config = config = config or VLMPlannerConfig()
        self.model, self.processor = model, processor
        tokenizer = processor.tokenizer
        missing = [token for token in PLANNER_TOKENS if token not in tokenizer.get_vocab()]
        if missing:
            tokenizer.add_tokens([AddedToken(token, normalized=False, special=False) for token in missing])
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if len(tokenizer) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tokenizer))
        self.register_buffer("retouch_ids", torch.tensor(tokenizer.convert_tokens_to_ids(list(RETOUCH_TOKENS))),
                             persistent=False)
        self.hidden_size = model.config.get_text_config().hidden_size
        self.head = head or RetouchHead(self.hidden_size, config.latent_dim, config.head_output_scale)
        self.head_loaded = head is not None

    # -------------------------------------------------------------------------------------- files
    @classmethod
    def from_checkpoint(cls, folder: str | Path, config: VLMPlannerConfig | None = None, *,
                        renderer: nn.Module | None = None, dtype: torch.dtype | str | None = None,
                        device: str | torch.device | None = None) -> "VLMPlanner":
        """Any local transformers VLM folder, never downloading. A saved planner keeps its head and
        config (``config`` then sets the sampling only); a base VLM gets a fresh head (``head_loaded``
        False) for fine-tuning. ``renderer``: the renderer the latents will drive; its latent size
        sizes a fresh head and must match a saved one."""
        folder = Path(folder)
        _check_checkpoint(folder)
        saved = _saved_config(folder)
        config = config or saved or VLMPlannerConfig()
        latent_dim = saved.latent_dim if saved is not None else config.latent_dim
        if renderer is not None:
            if saved is not None and saved.latent_dim != renderer.config.latent_dim:
                raise VeraRetouchError(f"{folder}: the planner gives {saved.latent_dim} latents, "
                                       f"the renderer takes {renderer.config.latent_dim}")
            latent_dim = renderer.config.latent_dim
        config = dataclasses.replace(config, latent_dim=latent_dim)
        try:
            model_type = AutoConfig.from_pretrained(folder, local_files_only=True).model_type
            model = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True,
                                                                **({} if dtype is None else {"dtype": dtype}))
            processor = load_processor(folder, model_type)
        except (OSError, ValueError, KeyError) as error:
            raise VeraRetouchError(
                f"{folder}: cannot load a vision-language model ({str(error).splitlines()[0]})"
            ) from None
        head = None
        if saved is not None:
            head = RetouchHead(model.config.get_text_config().hidden_size, saved.latent_dim)
            head.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
        planner = cls(model, processor, config, head)
        return planner.to(device).eval() if device is not None else planner.eval()

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, renderer: nn.Module | None = None,
                        dtype: torch.dtype | str | None = None,
                        device: str | torch.device | None = None) -> "VLMPlanner":
        """A planner saved by `save_pretrained` (refuses a base VLM without a retouch head)."""
        folder = Path(folder)
        _check_checkpoint(folder)
        if _saved_config(folder) is None:
            raise VeraRetouchError(f"{folder}: not a saved VLMPlanner (no {PLANNER_CONFIG}); "
                                   "a base VLM needs fine-tuning first (VLMPlanner.from_checkpoint)")
        return cls.from_checkpoint(folder, renderer=renderer, dtype=dtype, device=device)

    def save_pretrained(self, folder: str | Path) -> Path:
        """The base model (LoRA adapters merged into a copy), tokenizer and processor, the head, the config."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        model = self.model
        if hasattr(model, "merge_and_unload"):
            model = copy.deepcopy(model).merge_and_unload()
        model.save_pretrained(folder)
        self.processor.save_pretrained(folder)
        save_file({name: tensor.detach().contiguous().cpu() for name, tensor in self.head.state_dict().items()},
                  str(folder / HEAD_WEIGHTS))
        config = {"model": type(self).__name__, **dataclasses.asdict(self.config)}
        (folder / PLANNER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        return folder

    # -------------------------------------------------------------------------------------- parts
    @property
    def device(self) -> torch.device:
        return self.head.net[0].weight.device

    def language_model(self) -> nn.Module:
        """The text decoder inside the VLM (``language_model`` / ``text_model``)."""
        return self.model.get_decoder()

    def language_model_linear_names(self) -> list[str]:
        """Qualified names of the decoder's ``nn.Linear`` layers (LoRA targets)."""
        decoder = {id(module) for module in self.language_model().modules()}
        return [name for name, module in self.model.named_modules()
                if isinstance(module, nn.Linear) and id(module) in decoder]

    def enable_lora(self, rank: int = 16, alpha: int = 32, dropout: float = 0.05) -> None:
        """Wrap the VLM with peft LoRA adapters on every linear layer of the language model; the rest
        of the VLM is frozen (the head is not part of the wrapped model and stays trainable)."""
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                          target_modules=self.language_model_linear_names())
        self.model = get_peft_model(self.model, lora)

    def chat_prompt(self, prompt: str) -> str:
        """The model's chat template around one user turn (the image, then ``prompt``), ready to answer."""
        conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        return self.processor.tokenizer.apply_chat_template(
            conversation, chat_template=getattr(self.processor, "chat_template", None), tokenize=False,
            add_generation_prompt=True)

    def encode(self, images: torch.Tensor | list[torch.Tensor], prompts: list[str],
               answers: list[str] | None = None) -> tuple[dict, torch.Tensor]:
        """Model inputs for images and prompts (left-padded, to generate) or prompts and answers
        (right-padded, to train; each answer ends with the end-of-turn token), and ``(B,)`` answer starts."""
        tokenizer = self.processor.tokenizer
        texts = [self.chat_prompt(prompt) for prompt in prompts]
        if answers is not None:
            answers = [answer + (tokenizer.eos_token or "") for answer in answers]
            texts = [text + answer for text, answer in zip(texts, answers)]
        tokenizer.padding_side = "left" if answers is None else "right"
        inputs = self.processor(text=texts, images=[[picture] for picture in to_pil(images, self.config.image_side)],
                                padding=True, return_tensors="pt")
        inputs = {key: self._to_model(value) for key, value in inputs.items()}
        lengths = inputs["attention_mask"].sum(dim=1)
        if answers is None:
            return inputs, torch.full_like(lengths, inputs["input_ids"].shape[1])
        starts = lengths.clone()
        for row, answer in enumerate(answers):
            ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
            starts[row] -= len(ids)
            if inputs["input_ids"][row, starts[row]:lengths[row]].tolist() != ids:
                raise VeraRetouchError("the answer tokenises differently inside the chat text; "
                                       "cannot locate it for the text loss")
        return inputs, starts

    def _to_model(self, value):
        """A processor output on the model's device; pixels in the model's dtype (bf16 weights want bf16 pixels)."""
        if not torch.is_tensor(value):
            return value
        return value.to(self.device, dtype=self.model.dtype if value.is_floating_point() else value.dtype)

    def latents_from_hidden(self, hidden: torch.Tensor, input_ids: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """``(B, L, d)`` last-layer states -> ``(B, latent_dim)`` through the head at the retouch tokens."""
        positions = retouch_positions(input_ids, self.retouch_ids, starts)
        rows = torch.arange(hidden.shape[0], device=hidden.device)[:, None]
        return self.head(hidden[rows, positions].reshape(hidden.shape[0], -1).to(self.head.net[0].weight.dtype))

    def forward(self, images: torch.Tensor | list[torch.Tensor], prompts: list[str],
                answers: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: ``(B, latent_dim)`` latents read at the answers' retouch tokens, and the
        mean cross-entropy of the answer tokens (the SFT text loss)."""
        inputs, starts = self.encode(images, prompts, answers)
        hidden = self.model(**inputs, output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
        input_ids = inputs["input_ids"]
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        answer_mask = (positions >= starts[:, None]) & inputs["attention_mask"].bool()
        text_loss = answer_cross_entropy(self.model.get_output_embeddings(), hidden, input_ids, answer_mask)
        return self.latents_from_hidden(hidden, input_ids, starts), text_loss

    def with_answers(self, inputs: dict, answers: list[list[int]]) -> dict:
        """Left-padded prompt ``inputs`` (from `encode`) with answer token ids appended after each prompt
        (right-padded), for one teacher-forced pass; the answers start at the prompts' common length."""
        width = max(len(answer) for answer in answers)
        answer_ids = torch.full((len(answers), width), self.processor.tokenizer.pad_token_id, dtype=torch.long)
        answer_mask = torch.zeros_like(answer_ids)
        for row, answer in enumerate(answers):
            answer_ids[row, :len(answer)], answer_mask[row, :len(answer)] = torch.tensor(answer, dtype=torch.long), 1
        full = dict(inputs)
        for key in PER_TOKEN_INPUTS & inputs.keys():  # they grow by the answer; token types are text (0)
            extra = {"input_ids": answer_ids, "attention_mask": answer_mask}.get(key, torch.zeros_like(answer_ids))
            full[key] = torch.cat([inputs[key], extra.to(inputs[key])], dim=1)
        return full

    # -------------------------------------------------------------------------------------- inference
    def stop_ids(self) -> set[int]:
        """Token ids that end an answer: the tokenizer's end of turn / text, the model's and the pad."""
        tokenizer = self.processor.tokenizer
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id, tokenizer.pad_token_id}
        return {token for token in ids if token is not None}

    def placeholder_ids(self) -> list[int]:
        """Image / video placeholder tokens: never generated (the processor expands them into patches)."""
        sources = (self.processor, self.model.config)
        names = ("image_token_id", "image_token_index", "video_token_id")
        ids = {getattr(source, name, None) for source in sources for name in names}
        return sorted(token for token in ids if isinstance(token, int))

    @torch.no_grad()
    def plan(self, images: torch.Tensor, mode: str, instructions: list[str] | None = None,
             max_new_tokens: int | None = None) -> PlannerOutput:
        """Generate the answer for ``(B, 3, h, w)`` sRGB photos, append retouch tokens it lacks
        (`finish_answer`), then one forward pass over prompt + answer reads the latents.

        ``texts`` hold the reasoning (retouch tokens removed; `parse_tagged` reads it); ``extras``:
        ``answers`` (the full generated text) and ``forced`` (per image, whether tokens were appended).
        """
        check_mode(mode, instructions, images.shape[0])
        config, tokenizer = self.config, self.processor.tokenizer
        prompts = [
            build_prompt(mode, None if instructions is None else instructions[row]) for row in range(images.shape[0])
        ]
        inputs, _ = self.encode(images, prompts)
        sampling = (dict(do_sample=True, temperature=config.temperature, top_p=config.top_p, top_k=0)
                    if config.temperature > 0 else dict(do_sample=False))
        sequences = self.model.generate(**inputs, max_new_tokens=max_new_tokens or config.max_new_tokens,
                                        pad_token_id=tokenizer.pad_token_id,
                                        suppress_tokens=self.placeholder_ids(), **sampling)
        prompt_length = inputs["input_ids"].shape[1]
        finished = [finish_answer(row[prompt_length:].tolist(), self.retouch_ids.tolist(), self.stop_ids())
                    for row in sequences]
        full = self.with_answers(inputs, [answer for answer, _ in finished])
        hidden = self.model(**full, output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
        starts = torch.full((len(finished),), prompt_length, device=self.device)
        latents = self.latents_from_hidden(hidden, full["input_ids"], starts).float().to(images.device)
        answers = [tokenizer.decode(answer, skip_special_tokens=True) for answer, _ in finished]
        return PlannerOutput(latents=latents, texts=[reasoning_of(answer) for answer in answers],
                             extras={"answers": answers, "forced": [forced for _, forced in finished]})
