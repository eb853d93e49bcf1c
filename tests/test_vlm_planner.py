"""The VLM planner on tiny random checkpoints built here (nothing downloaded): Qwen2-VL, Qwen2.5-VL,
Idefics3 (the SmolVLM v1 layout) and LLaVA, each with a byte-level BPE tokenizer trained on a few
sentences, saved with its processor so loading goes through `VLMPlanner.from_checkpoint`."""
from __future__ import annotations

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from veraretouch.errors import PlanError, VeraRetouchError  # noqa: E402
from veraretouch.plan import Plan  # noqa: E402
from veraretouch.planner.vlm import (  # noqa: E402
    PLANNER_CONFIG,
    VLMPlanner,
    VLMPlannerConfig,
    finish_answer,
    image_only_processor_class,
    retouch_positions,
)
from veraretouch.planner.vlm_tokens import (  # noqa: E402
    PLANNER_TOKENS,
    RETOUCH_TOKENS,
    TASK_TOKENS,
    build_answer,
    build_prompt,
    param_values_text,
    reasoning_of,
)
from veraretouch.reasoning.text.tags import TAGS, format_reasoning, parse_tagged  # noqa: E402
from veraretouch.renderer.model import RendererConfig, RetouchRenderer  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
LATENT_DIM = 24
REASONING = format_reasoning({"lighting": ("It is too dark.", "Raise the exposure."),
                              "global_color": ("It is a little cold.", "Warm it slightly."),
                              "specific_color": ("The greens are dull.", "Saturate the greens.")})

# ---------------------------------------------------------------------------------------- tiny checkpoints
CORPUS = ["the photo is too dark and flat, raise the exposure, lift the shadows and warm it up slightly",
          "lighting global color specific color problem plan retouch agent user assistant greens saturate cold"]
QWEN_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
                 "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}"
                 "{% endif %}{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                 "{% endif %}")
IDEFICS_TEMPLATE = ("<|im_start|>{% for m in messages %}{{ m['role'] | capitalize }}:{% for c in m['content'] %}"
                    "{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}"
                    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")
LLAVA_TEMPLATE = ("{% for m in messages %}{{ m['role'] | upper }}: {% for c in m['content'] %}"
                  "{% if c['type'] == 'image' %}<image>\n{% else %}{{ c['text'] }}{% endif %}{% endfor %} {% endfor %}"
                  "{% if add_generation_prompt %}ASSISTANT:{% endif %}")


def _tokenizer(specials: list[str], eos: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(
            vocab_size=320,
            special_tokens=specials,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=eos, pad_token=specials[0])


def _text_config(tokenizer, **extra) -> dict:
    return dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                bos_token_id=tokenizer.pad_token_id, **extra)


def _qwen(version: str):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                "<|video_pad|>"]
    tokenizer = _tokenizer(specials, "<|im_end|>")
    ids = {
        f"{name}_token_id": tokenizer.convert_tokens_to_ids(f"<|{token}|>")
        for name, token in (
            ("image", "image_pad"),
            ("video", "video_pad"),
            ("vision_start", "vision_start"),
            ("vision_end", "vision_end"),
        )
    }
    text = _text_config(tokenizer, rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3],
                                                    "rope_theta": 10000.0})
    if version == "2":
        config = transformers.Qwen2VLConfig(text_config=text, vision_config=dict(
            depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2), **ids)
        model, processor_class = transformers.Qwen2VLForConditionalGeneration(config), transformers.Qwen2VLProcessor
    else:
        config = transformers.Qwen2_5_VLConfig(text_config=text, vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32, window_size=56,
            fullatt_block_indexes=[1]), **ids)
        model, processor_class = (
            transformers.Qwen2_5_VLForConditionalGeneration(config),
            transformers.Qwen2_5_VLProcessor,
        )
    if not transformers.utils.is_torchvision_available():  # its video processor needs torchvision
        processor_class = image_only_processor_class(processor_class)
    image_processor = transformers.Qwen2VLImageProcessorPil(size={"shortest_edge": 28 * 28 * 4,
                                                                  "longest_edge": 28 * 28 * 16})
    return model, processor_class(image_processor=image_processor, tokenizer=tokenizer, chat_template=QWEN_TEMPLATE)


def _idefics3():
    rows = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    tokenizer = _tokenizer(
        [
            "<|endoftext|>",
            "<|im_start|>",
            "<end_of_utterance>",
            "<image>",
            "<fake_token_around_image>",
            "<global-img>",
            *rows,
        ],
        "<end_of_utterance>",
    )
    config = transformers.Idefics3Config(
        text_config=dict(model_type="llama", **_text_config(tokenizer)), scale_factor=2,
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8), image_token_id=tokenizer.convert_tokens_to_ids("<image>"))
    image_processor = transformers.Idefics3ImageProcessorPil(
        size={"longest_edge": 32}, max_image_size={"longest_edge": 32}, do_image_splitting=False
    )
    processor = transformers.Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=4,
                                               chat_template=IDEFICS_TEMPLATE)
    return transformers.Idefics3ForConditionalGeneration(config), processor


def _llava():
    tokenizer = _tokenizer(["<|endoftext|>", "<image>"], "<|endoftext|>")
    config = transformers.LlavaConfig(
        vision_config=dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8, projection_dim=32),
        text_config=dict(model_type="qwen2", **_text_config(tokenizer)),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default",
        vision_feature_layer=-1)
    image_processor = transformers.CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    processor = transformers.LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                                            vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                            chat_template=LLAVA_TEMPLATE)
    return transformers.LlavaForConditionalGeneration(config), processor


BUILDERS = {"qwen2_vl": lambda: _qwen("2"), "qwen2_5_vl": lambda: _qwen("2.5"), "idefics3": _idefics3, "llava": _llava}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict:
    """Family name -> folder of a tiny random base VLM (model, tokenizer, processor; no planner files)."""
    folders = {}
    for name, build in BUILDERS.items():
        torch.manual_seed(0)
        model, processor = build()
        folders[name] = tmp_path_factory.mktemp(name)
        model.save_pretrained(folders[name])
        processor.save_pretrained(folders[name])
    return folders


@pytest.fixture(scope="module")
def renderer() -> RetouchRenderer:
    torch.manual_seed(0)
    return RetouchRenderer(RendererConfig(hidden_widths=[16, 16], aspect_dim=8)).eval()


def _planner(folder, **config) -> VLMPlanner:
    torch.manual_seed(0)
    return VLMPlanner.from_checkpoint(folder, VLMPlannerConfig(latent_dim=LATENT_DIM, **config))


def _samples(count: int = 3) -> list[dict]:
    """Synthetic dataset samples, one per mode in turn: the target is a brighter input."""
    generator = torch.Generator().manual_seed(1)
    samples = []
    for index in range(count):
        image = torch.rand(3, 24, 32, generator=generator)
        samples.append({"input": image, "target": image ** 0.8, "subset": ("auto", "style", "param")[index % 3],
                        "instruction": "Make it brighter.", "reasoning": REASONING,
                        "latents": 0.1 * torch.randn(LATENT_DIM, generator=generator),
                        "target_plan": Plan({"Exposure2012": 0.3, "Contrast2012": -12}).to_tensor()})
    return samples


def _lm_layer_weight(planner: VLMPlanner) -> torch.Tensor:
    """The first linear weight of the language model's first decoder layer."""
    name = next(name for name in planner.language_model_linear_names() if ".layers.0." in name)
    return planner.model.get_submodule(name).weight


# ---------------------------------------------------------------------------------------- tokens and prompts
def test_planner_tokens_reuse_the_span_tags():
    assert len(set(PLANNER_TOKENS)) == len(PLANNER_TOKENS) == 3 + 12 + 3
    assert {tag for pair in TAGS.values() for tag in pair} <= set(PLANNER_TOKENS)
    answer = build_answer(REASONING)
    assert answer.endswith("".join(RETOUCH_TOKENS))
    spans, errors = parse_tagged(reasoning_of(answer))
    assert errors == [] and spans["lighting_plan"] == "Raise the exposure."


def test_prompts_per_mode():
    auto = build_prompt("auto")
    assert auto.startswith(TASK_TOKENS["auto"]) and "lighting, global color and specific color" in auto
    assert not any(token in auto for token in RETOUCH_TOKENS)
    assert '"Warm it up."' in build_prompt("style", "Warm it up.")
    with pytest.raises(ValueError, match="instruction"):
        build_prompt("style", "  ")
    with pytest.raises(ValueError, match="unknown mode"):
        build_prompt("paint")


def test_param_prompt_gives_slider_values_divided_by_100():
    prompt = build_prompt(
        "param", '{"Exposure2012": {"value": 30}, "Contrast2012": {"value": -12}, "Vibrance": {"value": 7}}'
    )
    assert prompt.startswith(TASK_TOKENS["param"])
    assert '{"Exposure2012": 0.3, "Contrast2012": -0.12, "Vibrance": 0.07}' in prompt
    assert param_values_text(Plan({"Exposure2012": 1.25, "Saturation": -100})) == \
        '{"Exposure2012": 1.25, "Saturation": -1.0}'
    assert "lift the shadows" in build_prompt("param", "lift the shadows")  # a sentence is kept as it is
    with pytest.raises(PlanError):
        build_prompt("param", '{"Clarity9": {"value": 3}}')


def test_finish_answer_appends_only_missing_retouch_tokens():
    retouch, stop = [7, 8, 9], {2}
    assert finish_answer([5, 7, 8, 9, 2, 0, 0], retouch, stop) == ([5, 7, 8, 9], False)
    assert finish_answer([5, 6, 2, 7], retouch, stop) == ([5, 6, 7, 8, 9], True)
    assert finish_answer([5, 8, 6], retouch, stop) == ([5, 8, 6, 7, 9], True)


def test_retouch_positions_take_the_first_occurrence_in_the_answer():
    ids = torch.tensor([[7, 1, 7, 8, 9, 7], [1, 1, 9, 8, 7, 0]])
    positions = retouch_positions(ids, torch.tensor([7, 8, 9]), torch.tensor([1, 0]))
    assert positions.tolist() == [[2, 3, 4], [4, 3, 2]]
    with pytest.raises(ValueError, match="no retouch token"):
        retouch_positions(ids, torch.tensor([7, 8, 5]), torch.tensor([0, 0]))


# ---------------------------------------------------------------------------------------- the model
@pytest.mark.parametrize("family", list(BUILDERS))
def test_family_forward_generate_and_render(checkpoints, renderer, family):
    planner = _planner(checkpoints[family], max_new_tokens=6)
    assert not planner.head_loaded
    images = torch.rand(2, 3, 40, 56)
    latents, text_loss = planner(images, [build_prompt("auto"), build_prompt("style", "Warm it.")],
                                 [build_answer(REASONING)] * 2)
    assert latents.shape == (2, LATENT_DIM) and torch.isfinite(text_loss) and text_loss > 0
    output = planner.plan(images, "param", ['{"Exposure2012": {"value": 30}}'] * 2)
    assert output.latents.shape == (2, LATENT_DIM) and torch.isfinite(output.latents).all()
    assert len(output.texts) == 2 and output.extras["forced"] == [True, True]  # random weights never write them
    assert all(answer.endswith("".join(RETOUCH_TOKENS)) for answer in output.extras["answers"])
    assert not any(token in text for token in RETOUCH_TOKENS for text in output.texts)
    assert renderer(images, output.latents).shape == images.shape


def test_a_renderer_sizes_the_head_and_must_match_a_saved_one(checkpoints, renderer, tmp_path):
    planner = VLMPlanner.from_checkpoint(checkpoints["llava"], renderer=renderer)
    assert planner.config.latent_dim == renderer.config.latent_dim == LATENT_DIM
    planner.save_pretrained(tmp_path)
    other = RetouchRenderer(RendererConfig(hidden_widths=[8], aspect_dim=4))
    with pytest.raises(VeraRetouchError, match="gives 24 latents, the renderer takes 12"):
        VLMPlanner.from_pretrained(tmp_path, renderer=other)


def test_image_loss_gradient_reaches_the_language_model(checkpoints, renderer):
    planner = _planner(checkpoints["qwen2_vl"])
    sample = _samples(1)[0]
    latents, _ = planner([sample["input"]], [build_prompt("auto")], [build_answer(REASONING)])
    image_loss = (renderer(sample["input"][None], latents) - sample["target"][None]).abs().mean()
    image_loss.backward()
    weight = _lm_layer_weight(planner)
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    assert planner.head.net[0].weight.grad.abs().sum() > 0


def test_lora_adapters_get_the_image_gradient(checkpoints, renderer):
    pytest.importorskip("peft")
    planner = _planner(checkpoints["idefics3"])
    planner.enable_lora(rank=4, alpha=8, dropout=0.0)
    sample = _samples(1)[0]
    latents, _ = planner([sample["input"]], [build_prompt("auto")], [build_answer(REASONING)])
    (renderer(sample["input"][None], latents) - sample["target"][None]).abs().mean().backward()
    lora = [(name, parameter) for name, parameter in planner.model.named_parameters() if "lora_B" in name]
    assert lora and all(parameter.grad is not None and parameter.grad.abs().sum() > 0 for _, parameter in lora)
    assert not _lm_layer_weight(planner).requires_grad


def test_save_and_load_give_identical_latents(checkpoints, tmp_path):
    planner = _planner(checkpoints["qwen2_vl"], max_new_tokens=5)
    planner.enable_lora(rank=4, alpha=8, dropout=0.0)
    with torch.no_grad():  # non-zero adapters, so the saved (merged) model must carry them
        for name, parameter in planner.model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.1)
    images = torch.rand(1, 3, 32, 48)
    prompts, answers = [build_prompt("auto")], [build_answer(REASONING)]
    planner.eval()
    with torch.no_grad():
        before = planner(images, prompts, answers)[0]
    planner.save_pretrained(tmp_path / "planner")
    assert json.loads((tmp_path / "planner" / PLANNER_CONFIG).read_text())["latent_dim"] == LATENT_DIM
    loaded = VLMPlanner.from_pretrained(tmp_path / "planner")
    assert loaded.head_loaded and loaded.config.max_new_tokens == 5
    with torch.no_grad():
        after = loaded(images, prompts, answers)[0]
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)
    torch.manual_seed(3)
    first = loaded.plan(images, "auto")
    again = VLMPlanner.from_checkpoint(tmp_path / "planner")
    torch.manual_seed(3)
    second = again.plan(images, "auto")
    assert first.extras["answers"] == second.extras["answers"]
    torch.testing.assert_close(first.latents, second.latents)


def test_not_a_checkpoint_is_a_clear_error(checkpoints, tmp_path):
    with pytest.raises(VeraRetouchError, match="not a model checkpoint"):
        VLMPlanner.from_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "no_such_model"}')
    with pytest.raises(VeraRetouchError, match="cannot load a vision-language model"):
        VLMPlanner.from_checkpoint(tmp_path)
    with pytest.raises(VeraRetouchError, match="not a saved VLMPlanner"):
        VLMPlanner.from_pretrained(checkpoints["llava"])


def test_plan_checks_the_mode(checkpoints):
    planner = _planner(checkpoints["llava"])
    with pytest.raises(ValueError, match="needs one non-empty instruction"):
        planner.plan(torch.rand(1, 3, 16, 16), "style")


# ---------------------------------------------------------------------------------------- training
def test_trainer_trains_resumes_and_exports(checkpoints, renderer, tmp_path):
    pytest.importorskip("peft")
    from veraretouch.training.vlm import VLMTrainingConfig, train_vlm_planner, vlm_losses

    samples = _samples(3)
    config = VLMTrainingConfig(steps=2, batch_size=2, warmup_steps=1, eval_every=1, checkpoint_every=1, lora_rank=4,
                               lora_alpha=8, learning_rate=1e-3)
    trainer = train_vlm_planner(tmp_path / "run", checkpoints["qwen2_vl"], renderer, samples, samples[:2], config,
                                progress=False)
    assert trainer.step == 2
    losses = vlm_losses(trainer.planner, renderer, samples)
    assert set(losses) == {"text", "latent", "image"} and all(torch.isfinite(value) for value in losses.values())
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].startswith("step,loss") and len(log) == 3
    exported = VLMPlanner.from_pretrained(tmp_path / "run" / "vlm_planner")
    assert exported.head_loaded and exported.config.latent_dim == LATENT_DIM
    resumed = train_vlm_planner(tmp_path / "run", checkpoints["qwen2_vl"], renderer, iter(samples), None,
                                VLMTrainingConfig(**{**config.__dict__, "steps": 3}), progress=False)
    assert resumed.step == 3


@pytest.mark.slow
def test_fine_tuned_planner_writes_the_retouch_tokens_itself(checkpoints, renderer):
    """Overfit one sample: greedy decoding then writes the reasoning and the three tokens unforced."""
    from veraretouch.training.vlm import VLMTrainingConfig, prepare_for_training, vlm_losses

    planner = _planner(checkpoints["qwen2_vl"], temperature=0.0, max_new_tokens=40)
    optimizer = torch.optim.AdamW(prepare_for_training(planner, VLMTrainingConfig(lora_rank=0)), lr=1e-2)
    sample = {**_samples(1)[0], "reasoning": "<lighting_problem>too dark</lighting_problem>"}
    planner.train()
    for _ in range(300):
        losses = vlm_losses(planner, renderer, [sample])
        optimizer.zero_grad()
        (losses["text"] + losses["image"]).backward()
        optimizer.step()
    planner.eval()
    output = planner.plan(sample["input"][None], "auto")
    assert output.extras["forced"] == [False]
    assert output.texts == ["<lighting_problem>too dark</lighting_problem>"]


# ---------------------------------------------------------------------------------------- DAPO policy
def test_vlm_policy_samples_scores_and_learns_from_advantages(checkpoints, renderer):
    """Sampled answers' log-probs agree with a teacher-forced pass (ratio 1 before an update), forced
    retouch tokens are not the policy's, and one DAPO update raises the better answer's log-prob."""
    from veraretouch.training.dapo import DAPOConfig, DAPOTrainer, SampledBatch
    from veraretouch.training.vlm_policy import VLMPlanPolicy, vlm_prompts, vlm_reward_fn

    torch.manual_seed(0)
    policy = VLMPlanPolicy(_planner(checkpoints["qwen2_vl"]), renderer, max_new_tokens=8)
    prompts = vlm_prompts(_samples(2))
    rollouts = policy.sample(prompts, group_size=2)
    assert rollouts.logprobs.shape == rollouts.mask.shape and rollouts.logprobs.shape[0] == 4
    assert torch.equal(rollouts.mask.sum(dim=1).long(), rollouts.lengths)
    assert (rollouts.logprobs[rollouts.mask.bool()] < 0).all() and (rollouts.logprobs[~rollouts.mask.bool()] == 0).all()
    for answer, owned in zip(rollouts.extras["answer_ids"], rollouts.lengths.tolist()):
        assert set(policy.planner.retouch_ids.tolist()) <= set(answer), "every output renders"
        assert owned <= 8 + 1
    torch.testing.assert_close(policy.log_probs(prompts, rollouts).detach(), rollouts.logprobs, atol=1e-4, rtol=0)
    rewards = vlm_reward_fn(policy)(prompts, rollouts)
    assert rewards.shape == (4,) and torch.isfinite(rewards).all()

    trainer = DAPOTrainer(policy, vlm_reward_fn(policy), DAPOConfig(group_size=2, prompts_per_batch=2, minibatches=1,
                                                                     learning_rate=1e-3, warmup_steps=1,
                                                                     weight_decay=0.0))
    before = (rollouts.logprobs * rollouts.mask).sum(dim=1)
    preferred = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    trainer.update(SampledBatch(prompts, rollouts, preferred, 1, 2, 0.5))
    after = (policy.log_probs(prompts, rollouts).detach() * rollouts.mask).sum(dim=1)
    change = after - before
    assert change[0] > change[1] and change[3] > change[2], change


def test_vlm_policy_dapo_step_with_overlong_shaping(checkpoints, renderer):
    from veraretouch.training.dapo import DAPOConfig, DAPOTrainer
    from veraretouch.training.vlm_policy import VLMPlanPolicy, vlm_prompts, vlm_reward_fn

    torch.manual_seed(1)
    policy = VLMPlanPolicy(_planner(checkpoints["qwen2_vl"]), renderer, max_new_tokens=6)
    samples = _samples(3)
    config = DAPOConfig(group_size=3, prompts_per_batch=2, minibatches=1, learning_rate=1e-3, warmup_steps=1,
                        weight_decay=0.0, max_length=6, overlong_buffer=4)
    trainer = DAPOTrainer(policy, vlm_reward_fn(policy), config)
    weight = _lm_layer_weight(policy.planner).detach().clone()
    stats = trainer.step(lambda count: vlm_prompts(samples[:count]))
    assert stats["groups"] >= 1 and stats["mean_length"] <= 7
    assert not torch.equal(weight, _lm_layer_weight(policy.planner)), "the update reaches the language model"


# ---------------------------------------------------------------------- DAPO runs (train rl --planner vlm)
TINY_RL = dict(steps=2, group_size=2, prompts_per_batch=2, minibatches=1, eval_every=1, checkpoint_every=1,
               eval_samples=2, side=32, lora_rank=4, lora_alpha=8, learning_rate=1e-3, warmup_steps=1)


@pytest.fixture(scope="module")
def critic_dir(tmp_path_factory):
    from veraretouch.evaluation.aesthetic import AestheticCritic

    folder = tmp_path_factory.mktemp("critic")
    torch.manual_seed(0)
    AestheticCritic().save_pretrained(folder / "aesthetic_critic")
    return folder


def test_rl_trainer_trains_checkpoints_trainable_weights_resumes_and_exports(checkpoints, renderer, critic_dir,
                                                                               tmp_path):
    pytest.importorskip("peft")
    import csv

    from veraretouch.evaluation.aesthetic import AestheticCritic
    from veraretouch.training.vlm_rl import VLMRLTrainer, VLMRLTrainingConfig

    critic = AestheticCritic.from_pretrained(critic_dir / "aesthetic_critic")
    samples, out = _samples(4), tmp_path / "rl"

    def run(steps: int) -> VLMRLTrainer:
        planner = _planner(checkpoints["qwen2_vl"], max_new_tokens=6)
        return VLMRLTrainer(out, planner, renderer, critic, samples, samples[:2],
                            VLMRLTrainingConfig(**{**TINY_RL, "steps": steps}))

    first = run(2)
    start_head = first.policy.planner.head.net[-1].weight.detach().clone()
    start_layer = _lm_layer_weight(_planner(checkpoints["qwen2_vl"])).detach().clone()
    first.train(progress=False)
    for name in ("steps.csv", "log.csv", "rewards.png", "checkpoint.pt", "training_config.json"):
        assert (out / name).is_file(), name
    steps = list(csv.DictReader(open(out / "steps.csv")))
    assert [int(row["step"]) for row in steps] == [1, 2] and all(float(row["mean_length"]) <= 6 for row in steps)
    log = list(csv.DictReader(open(out / "log.csv")))
    assert [int(row["step"]) for row in log] == [0, 1, 2], "the start is evaluated first"
    assert (out / "best" / "vlm_planner").is_dir() and json.loads((out / "best" / "best.json").read_text())["step"] in (
        0,
        1,
        2,
    )
    assert float(log[-1]["similarity"]) > 0 and float(log[-1]["format"]) == 0.0  # random weights never format
    saved = torch.load(out / "checkpoint.pt", weights_only=False)["policy"]
    assert any("lora_B" in name for name in saved) and any("embed_tokens" in name for name in saved)
    assert not any(part in name for name in saved for part in ("base_layer", "renderer", "planner.head")), \
        "frozen weights stay out of the checkpoint"
    exported = VLMPlanner.from_pretrained(out / "vlm_planner", renderer=renderer)
    assert not torch.equal(_lm_layer_weight(exported), start_layer), "the merged adapters reach the language model"
    assert torch.equal(exported.head.net[-1].weight, start_head), "the head is not a policy parameter"

    resumed = run(3)
    assert resumed.step == 2
    lora = next(name for name in saved if "lora_B" in name)
    torch.testing.assert_close(dict(resumed.policy.named_parameters())[lora].detach(), saved[lora])
    resumed.train(progress=False)
    assert resumed.step == 3 and len(list(csv.DictReader(open(out / "steps.csv")))) == 3


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """A built dataset of two generated photos (photo1: train, photo18: validation), auto and param."""
    import numpy as np
    from PIL import Image

    from veraretouch.data.shards import BuildConfig, build_dataset

    root = tmp_path_factory.mktemp("dataset")
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("photo1.png", "photo18.png"):
        ramp = np.linspace(30, 220, 96)[None, :, None] * rng.uniform(0.6, 1.0, 3)
        Image.fromarray((ramp + rng.normal(0, 12, (64, 96, 3))).clip(0, 255).astype(np.uint8)).save(photos / name)
    build_dataset(photos, root / "data", None, BuildConfig(per_photo=3, shard_size=3, subsets=("auto", "param")),
                  progress=False)
    return root / "data", photos


def test_train_rl_cli_runs_the_vlm_planner_and_refuses_wrong_options(checkpoints, critic_dir, tiny_dataset, tmp_path,
                                                                      monkeypatch, capsys):
    pytest.importorskip("peft")
    import functools

    from veraretouch.cli import main
    from veraretouch.training import vlm_rl
    from veraretouch.weights import load_models

    data, photos = tiny_dataset
    shipped = load_models(None, "renderer")[0]
    VLMPlanner.from_checkpoint(checkpoints["qwen2_vl"], VLMPlannerConfig(max_new_tokens=6),
                               renderer=shipped).save_pretrained(tmp_path / "start")
    base = ["train", "rl", "--photos", str(photos), "-o", str(tmp_path / "run")]
    for extra, message in (
        (["--planner", "vlm", "--data", str(data)], "needs --checkpoint DIR"),
        (["--planner", "vlm", "--checkpoint", str(tmp_path / "start")], "needs --checkpoint DIR"),
        (["--checkpoint", str(tmp_path / "start"), "--data", str(data)], "--checkpoint is for --planner vlm"),
        (["--planner", "vlm", "--checkpoint", str(tmp_path / "start"), "--data", str(photos)], "not a dataset"),
    ):
        assert main(base + extra) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "renderer", "--photos", str(photos), "-o", str(tmp_path / "r"), "--planner", "vlm"]) == 2
    assert "are for train rl" in capsys.readouterr().err

    monkeypatch.setattr(vlm_rl, "VLMRLTrainingConfig", functools.partial(
        vlm_rl.VLMRLTrainingConfig, **{**TINY_RL, "eval_samples": 3}))
    assert main(base + ["--planner", "vlm", "--checkpoint", str(tmp_path / "start"), "--data", str(data),
                        "--critic", str(critic_dir), "--steps", "1"]) == 0
    assert "validation auto PSNR" in capsys.readouterr().out
    assert len((tmp_path / "run" / "steps.csv").read_text().splitlines()) == 2  # header + one DAPO step
    exported = VLMPlanner.from_pretrained(tmp_path / "run" / "vlm_planner", renderer=shipped)
    assert exported.config.latent_dim == shipped.config.latent_dim
