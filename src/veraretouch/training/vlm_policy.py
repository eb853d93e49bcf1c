"""The VLM planner as a DAPO policy (`training.dapo.Policy`): the paper's DAPO-AE stage.

An output is the answer the language model writes (problems, plan, the three retouch tokens). It is
sampled at temperature 1 with no top-p / top-k, so the sampling distribution is the model's own
softmax and DAPO's ratio ``pi / pi_old`` compares like with like; its per-token log-probs come from
one teacher-forced pass over prompt + answer, which also gives the hidden states at the retouch
tokens, hence the latents the renderer executes. Retouch tokens the model did not write are
appended (`planner.vlm.finish_answer`) so every output renders, but they are not the policy's
tokens: their mask is 0, and the format reward withholds its point. The end-of-answer token is a
policy token when the model wrote it.

Prompts are a dict: ``images`` ``(B, 3, h, w)`` sRGB inputs, ``prompts`` (the user texts, from
`training.vlm.sample_prompt`), ``targets`` ``(B, 3, h, w)`` and ``mode`` ``(B,)`` (indices into
`planner.base.MODES`); `vlm_prompts` makes it from dataset samples.
"""
from __future__ import annotations

import torch
from torch import nn

from ..planner.base import MODES
from ..planner.vlm import VLMPlanner
from ..renderer import RetouchRenderer
from .dapo import RewardFn, Rollouts
from .rewards import RewardWeights, format_rewards, scored_renders


def vlm_prompts(samples: list[dict]) -> dict:
    """Dataset samples (`data.loader.RetouchDataset` items of one size) as VLM policy prompts."""
    from .vlm import sample_prompt

    return {"images": torch.stack([sample["input"] for sample in samples]),
            "targets": torch.stack([sample["target"] for sample in samples]),
            "prompts": [sample_prompt(sample) for sample in samples],
            "mode": torch.tensor([MODES.index(sample["subset"]) for sample in samples])}


class VLMPlanPolicy(nn.Module):
    """`VLMPlanner` + frozen renderer as a text policy (see the module doc). ``max_new_tokens`` bounds
    each answer (DAPO's overlong shaping, ``DAPOConfig.max_length``, penalises answers near it)."""

    def __init__(self, planner: VLMPlanner, renderer: RetouchRenderer, max_new_tokens: int = 1024) -> None:
        super().__init__()
        self.planner, self.renderer = planner, renderer.eval()
        self.renderer.requires_grad_(False)
        self.max_new_tokens = max_new_tokens
        self.train()

    def train(self, mode: bool = True) -> VLMPlanPolicy:
        """The model stays in eval mode (no dropout): the old and new log-probs of a batch must agree
        before an update, and the policy's only randomness is the sampling."""
        super().train(mode)
        self.planner.eval()
        self.renderer.eval()
        return self

    def _answers(self, generated: torch.Tensor) -> tuple[list[list[int]], list[int]]:
        """Each row's answer ids as rendered (up to and with the stop token when written, else with the
        missing retouch tokens appended) and how many of them are the policy's own."""
        stops, retouch = self.planner.stop_ids(), self.planner.retouch_ids.tolist()
        answers, owned = [], []
        for row in generated.tolist():
            end = next((i for i, token in enumerate(row) if token in stops), None)
            written = row[:end] if end is not None else row
            missing = [token for token in retouch if token not in written]
            if missing or end is None:
                answers.append(written + missing)
                owned.append(len(written))
            else:
                answers.append(written + [row[end]])
                owned.append(len(written) + 1)
        return answers, owned

    def _group_inputs(self, prompts: dict, group_size: int) -> dict:
        """Model inputs of each prompt repeated ``group_size`` times (prompt-major rows), left-padded."""
        images = prompts["images"].repeat_interleave(group_size, dim=0)
        texts = [text for text in prompts["prompts"] for _ in range(group_size)]
        return self.planner.encode(images, texts)[0]

    def _teacher_forced(self, inputs: dict, answers: list[list[int]]):
        """One pass over prompt ``inputs`` + answers: per-token log-probs ``(N, T)`` of the answer ids
        and latents ``(N, D)``."""
        prompt_length = inputs["input_ids"].shape[1]
        full = self.planner.with_answers(inputs, answers)
        hidden = self.planner.model(**full, output_hidden_states=True, logits_to_keep=1).hidden_states[-1]
        width = full["input_ids"].shape[1] - prompt_length
        logits = self.planner.model.get_output_embeddings()(
            hidden[:, prompt_length - 1 : prompt_length - 1 + width]
        ).float()
        answer_ids = full["input_ids"][:, prompt_length:]
        logprobs = torch.log_softmax(logits, dim=-1).gather(2, answer_ids[..., None])[..., 0]
        starts = torch.full((len(answers),), prompt_length, device=hidden.device)
        return logprobs, self.planner.latents_from_hidden(hidden, full["input_ids"], starts).float()

    @staticmethod
    def _mask(width: int, owned: list[int]) -> torch.Tensor:
        return (torch.arange(width)[None] < torch.tensor(owned)[:, None]).float()

    @torch.no_grad()
    def sample(self, prompts: dict, group_size: int, greedy: bool = False) -> Rollouts:
        """``group_size`` answers per prompt at temperature 1 (``greedy``: the most likely answer, for
        evaluation); actions are their token ids ``(N, T)``."""
        inputs = self._group_inputs(prompts, group_size)
        tokenizer = self.planner.processor.tokenizer
        sampling = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
        sequences = self.planner.model.generate(
            **inputs, max_new_tokens=self.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
            suppress_tokens=self.planner.placeholder_ids(), **sampling)
        answers, owned = self._answers(sequences[:, inputs["input_ids"].shape[1]:])
        logprobs, latents = self._teacher_forced(inputs, answers)
        ids = torch.full(logprobs.shape, tokenizer.pad_token_id, dtype=torch.long)
        for row, answer in enumerate(answers):
            ids[row, :len(answer)] = torch.tensor(answer)
        mask = self._mask(logprobs.shape[1], owned)
        texts_out = [
            tokenizer.decode(answer[:count], skip_special_tokens=True) for answer, count in zip(answers, owned)
        ]
        return Rollouts(ids, logprobs.cpu() * mask, mask, torch.tensor(owned),
                        {"latents": latents.cpu(), "answers": texts_out, "answer_ids": answers})

    def log_probs(self, prompts: dict, rollouts: Rollouts) -> torch.Tensor:
        """``(N, T)`` log-probs of the sampled answers under the current model, with gradient."""
        group_size = len(rollouts.lengths) // len(prompts["prompts"])
        logprobs, _ = self._teacher_forced(self._group_inputs(prompts, group_size), rollouts.extras["answer_ids"])
        width = rollouts.mask.shape[1]
        return nn.functional.pad(logprobs, (0, width - logprobs.shape[1]))[:, :width].cpu() * rollouts.mask


def vlm_reward_fn(policy: VLMPlanPolicy, critic: nn.Module | None = None, weights: RewardWeights | None = None,
                  cap_aesthetic_at_target: bool = True) -> RewardFn:
    """The paper's rewards for VLM answers: format (`rewards.format_rewards` of the reasoning with its
    retouch tokens), similarity of the render to the target, and the critic's aesthetic reward in
    auto mode (capped at the target's unless ``cap_aesthetic_at_target`` is False)."""
    weights = weights or RewardWeights()

    @torch.no_grad()
    def reward(prompts: dict, rollouts: Rollouts) -> torch.Tensor:
        group_size = len(rollouts.lengths) // len(prompts["prompts"])
        images = prompts["images"].repeat_interleave(group_size, dim=0).float()
        targets = prompts["targets"].repeat_interleave(group_size, dim=0).float()
        rendered = policy.renderer(images, rollouts.extras["latents"].to(images))
        return scored_renders(rendered, targets, prompts["mode"].repeat_interleave(group_size), weights, critic,
                              cap_aesthetic_at_target, {"format": format_rewards(rollouts.extras["answers"])})

    return reward

