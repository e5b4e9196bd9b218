#!/usr/bin/env python3
"""Measures, on THIS machine, what researchers would run instead of the workbench, and writes
bench/references.json, which `workbench bench` reads for its "vs ref" column.

A comparison is only honest when both sides ran on the same machine: re-run this script
whenever the machine changes (`workbench bench` warns when the CPU model differs).

Figures (same names, sizes, units, warm-up and repetitions as Sources/Workbench/Bench/*.swift):

  sgemm          GFLOP/s = 2n^3 / seconds of torch.matmul (MKL sgemm) on square float32
                 n = 256, 512, 1024, 2048; best of 10/10/5/3 reps after 1 warm-up: the BLAS
                 under every PyTorch figure below.
  train          training tokens/s = B*T / seconds of one step (forward, backward, global-norm
                 clip 1.0, AdamW lr 1e-4 wd 0.01), best and median of 8 steps after 1 warm-up
                 step, per method, on the reference model (vocab 96, d_model 128, 4 layers,
                 4 heads, d_ff 512, T 64, B 32) and for full/lora on d_model 256, 6 layers,
                 8 heads, d_ff 1024. size = d_model, method = the workbench registry name.
  train_llama    training and evaluation tokens/s (name "train" / "eval", size 576) and the peak
                 resident memory (ru_maxrss of a child process per method and thread count) on
                 SmolLM2-135M's shape: transformers' LlamaForCausalLM (30 layers, d 576, 9 heads over
                 3 key/value heads, d_ff 1536, vocab 49,152, tied embeddings, RoPE θ 1e5, SDPA
                 attention), random weights, B 8, T 128; best of 3 steps after 1 warm-up step, as
                 LlamaTrainingBenchmark. Methods as below with LLaMA's module names: LoRA/QLoRA/DoRA
                 on all seven projections, IA3 with peft's LLaMA defaults (k_proj, v_proj,
                 down_proj), adapters after o_proj and down_proj (m = 36), ln_tuning =
                 peft LNTuningConfig (the RMSNorms); BitFit does not apply (no biases).
  sgesdd_full    seconds of torch.linalg.svd and of scipy.linalg.svd(lapack_driver="gesdd"),
  sgesdd_values  resp. torch.linalg.svdvals and scipy's compute_uv=False, square float32
                 n = 256, 512, 1024, 2048; best of 5/5/3/2 reps, warm-up below 2048.
  nf4_quantize, nf4_dequantize (and _dq with double quantization)
                 GB/s = 4 bytes * 16M float32 values / seconds of bitsandbytes'
                 quantize_4bit / dequantize_4bit, blocksize 64, best of 5 after 1 warm-up
                 (dequantize allocates its output each call: bnb has no CPU out= kernel).

The model. peft wraps a transformers model (prefix tuning needs one: peft feeds its virtual
keys/values in as past_key_values), and GPT-2's transformers class fuses q, k, v into one
Conv1D, which would change LoRA's and IA3's shapes. So the model is transformers'
OPTForCausalLM configured as the workbench's decoder: pre-LayerNorm blocks (do_layer_norm_before),
separate biased q_proj/k_proj/v_proj/out_proj, MLP fc1 -> GELU tanh ("gelu_new") -> fc2 with
biases, learned position embeddings, final LayerNorm, untied LM head without bias, no dropout.
Attention is transformers' default for CPU (scaled_dot_product_attention). The loss is the
mean cross-entropy over all B*T positions (the Swift benchmark's mask is all ones, so this is
the same loss), computed from the logits of the T real tokens (prompt tuning prepends 16).

Methods, as a researcher would write them with peft 0.21 / bitsandbytes 0.50:
  full     every parameter trains (no peft).
  lora     LoraConfig(r=8, lora_alpha=8, lora_dropout=0, all six linear kinds).
  qlora    those six kinds replaced by bnb.nn.Linear4bit (NF4, blocksize 64, double quant =
           compress_statistics, compute dtype float32), then the same LoraConfig. No gradient
           checkpointing (prepare_model_for_kbit_training would turn it on; the workbench has none).
  dora     the same LoraConfig with use_dora=True.
  adapter  peft has no Houlsby bottleneck adapter: written by hand below, as in the workbench
           (after out_proj and fc2, m = d_model/16, zero-initialised up projection).
  prefix   PrefixTuningConfig(num_virtual_tokens=16) (no projection MLP, peft's default).
  prompt   PromptTuningConfig(num_virtual_tokens=16, RANDOM init).
  ia3      IA3Config(target_modules=[k_proj, v_proj, fc2], feedforward_modules=[fc2]).
  bitfit   only the biases train (q/k/v/o/fc1/fc2 and the LayerNorm shifts), no peft.

Threads: torch.set_num_threads(n) for torch (MKL, oneDNN, ATen) and bitsandbytes' CPU code;
threadpoolctl for scipy's OpenBLAS. The environment here exports OPENBLAS_CORETYPE=Haswell and
OPENBLAS_L2_SIZE, which pin every OpenBLAS to its AVX2 kernel; the scipy measurement runs in a
child process of this script with both variables removed, so OpenBLAS picks its own kernel
(recorded in the figure's detail, as threadpoolctl reports it).

Usage (2 cores; take 1-thread figures pinned to one core when the other is busy):
  taskset -c 0 python3 scripts/bench_pytorch.py --threads 1
  python3 scripts/bench_pytorch.py --threads 2 --merge
  python3 scripts/bench_pytorch.py --figures sgemm,svd,nf4 --threads 1 --merge
  python3 scripts/bench_pytorch.py --quick --out /tmp/refs.json     # checks the plumbing only
--merge keeps the figures already in --out and replaces those measured again (same name, size,
threads, method and tool). Needs: pip install torch==2.15.0 peft==0.21.2 bitsandbytes==0.50.2
scipy threadpoolctl. Nothing is downloaded at run time (HF_HUB_OFFLINE=1).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# No hub access at run time: the model is built from a config, and bitsandbytes would otherwise
# try to fetch optional kernels from the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MAGIC, VERSION = "workbench-bench-references", 1
FIGURE_GROUPS = ["sgemm", "train", "train_llama", "svd", "nf4"]
METHODS = ["full", "lora", "qlora", "dora", "adapter", "prefix", "prompt", "ia3", "bitfit"]
LINEAR_KINDS = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]  # workbench q, k, v, o, fc, proj


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def median(values):
    return statistics.median(values)


# ---------------------------------------------------------------------------------------------
# Data: the Swift benchmark's BenchTiming.randomValues, bit for bit, so SVD and NF4 measure the
# same matrices: a 64-bit LCG (Knuth's MMIX constants), value = (state >> 40) / 2^23 - 1.
# ---------------------------------------------------------------------------------------------
LCG_A, LCG_C, MASK64 = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def random_values(count, seed):
    """float32 array of `count` values in [-1, 1), equal to BenchTiming.randomValues(count, seed)."""
    import numpy as np
    block = 4096
    # state_{k+j} = A_j * state_k + C_j (mod 2^64) for j = 1..block: jump ahead one block at a time.
    a_j, c_j, a, c = [], [], 1, 0
    for _ in range(block):
        a, c = (a * LCG_A) & MASK64, (c * LCG_A + LCG_C) & MASK64
        a_j.append(a); c_j.append(c)
    a_j, c_j = np.array(a_j, dtype=np.uint64), np.array(c_j, dtype=np.uint64)
    out = np.empty(count, dtype=np.float32)
    state = np.uint64(seed)
    with np.errstate(over="ignore"):
        for start in range(0, count, block):
            states = a_j * state + c_j  # uint64 arithmetic wraps modulo 2^64
            n = min(block, count - start)
            out[start:start + n] = (states[:n] >> np.uint64(40)).astype(np.float32) / np.float32(1 << 23) - np.float32(1)
            state = states[-1]
    return out


# ---------------------------------------------------------------------------------------------
# Machine and software facts
# ---------------------------------------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_facts():
    facts = {"cpu": cpu_model(), "cores": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0))}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read().split("\n\n")[0]
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        facts["cpu_family"] = fields.get("cpu family")
        facts["cpu_model_number"] = fields.get("model")
        flags = fields.get("flags", "").split()
        facts["simd"] = " ".join(f for f in flags if f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_tile"))
    except OSError:
        pass
    facts["os"] = platform.platform()
    facts["python"] = platform.python_version()
    return facts


def busy_fraction(cores, seconds=1.0):
    """{core: fraction of the last `seconds` it was busy}, from /proc/stat: taken before each group
    of figures and stored with them, because another process on a measured core skews the figure."""
    def sample():
        times = {}
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    fields = line.split()
                    values = [int(v) for v in fields[1:]]
                    times[int(fields[0][3:])] = (values[3] + values[4], sum(values))  # idle + iowait, total
        return times
    try:
        before = sample(); time.sleep(seconds); after = sample()
    except OSError:
        return {}
    out = {}
    for c in cores:
        idle, total = after[c][0] - before[c][0], after[c][1] - before[c][1]
        out[str(c)] = round(1 - idle / total, 3) if total else 0.0
    return out


def software_versions():
    import importlib.metadata as md
    versions = {}
    for name in ["torch", "peft", "bitsandbytes", "transformers", "scipy", "numpy", "threadpoolctl"]:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return versions


def torch_facts():
    import torch
    return {
        "config": torch.__config__.show(),
        "parallel_info": torch.__config__.parallel_info(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
SHAPES = [  # (vocab, d_model, layers, heads, d_ff, B, T, methods)
    (96, 128, 4, 4, 512, 32, 64, METHODS),
    (96, 256, 6, 8, 1024, 32, 64, ["full", "lora"]),
]
QUICK_SHAPES = [(16, 16, 1, 2, 32, 2, 8, METHODS)]


def build_base(V, C, L, NH, F, T):
    """transformers' OPTForCausalLM shaped as the workbench decoder (see the module docstring)."""
    import torch
    from transformers import OPTConfig, OPTForCausalLM
    config = OPTConfig(
        vocab_size=V, hidden_size=C, num_hidden_layers=L, num_attention_heads=NH, ffn_dim=F,
        max_position_embeddings=T + 32,  # room for 16 virtual tokens, as the Swift model's T + 32
        word_embed_proj_dim=C, do_layer_norm_before=True, enable_bias=True,
        activation_function="gelu_new",  # GELU, tanh approximation
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, layerdrop=0.0,
        tie_word_embeddings=False, pad_token_id=0, bos_token_id=1, eos_token_id=2, use_cache=False,
    )
    torch.manual_seed(1)
    return OPTForCausalLM(config)


def make_houlsby(base_linear, m):
    """h <- h + W_up GELU_tanh(W_down h + b_down) + b_up after a frozen linear layer (Houlsby et al.
    2019), W_down PyTorch's default init, W_up and b_up zero: a fresh adapter is the identity."""
    import torch
    from torch import nn

    class Adapted(nn.Module):
        def __init__(self):
            super().__init__()
            self.base = base_linear
            C = base_linear.out_features
            self.down = nn.Linear(C, m)
            self.up = nn.Linear(m, C)
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

        def forward(self, x):
            h = self.base(x)
            return h + self.up(torch.nn.functional.gelu(self.down(h), approximate="tanh"))

    return Adapted()


def to_linear4bit(parent, names):
    """Replaces `parent`'s linear layers `names` by bitsandbytes Linear4bit (NF4, blocksize 64,
    double quantization, float32 compute), weights and biases copied."""
    import bitsandbytes as bnb
    for name in names:
        old = getattr(parent, name)
        new = bnb.nn.Linear4bit(old.in_features, old.out_features, bias=old.bias is not None,
                                compute_dtype=old.weight.dtype, compress_statistics=True, quant_type="nf4")
        new.weight = bnb.nn.Params4bit(old.weight.data.clone(), requires_grad=False, quant_type="nf4",
                                       compress_statistics=True, blocksize=64)
        if old.bias is not None:
            new.bias = type(old.bias)(old.bias.data.clone(), requires_grad=False)
        new = new.to("cpu")  # Params4bit quantizes when moved to a device
        assert getattr(new.weight, "bnb_quantized", False), "bitsandbytes did not quantize on CPU"
        setattr(parent, name, new)


def quantize_linears_nf4(model):
    """The six linear kinds of every decoder layer as Linear4bit; embeddings and the LM head stay float32."""
    for layer in model.model.decoder.layers:
        to_linear4bit(layer.self_attn, ["q_proj", "k_proj", "v_proj", "out_proj"])
        to_linear4bit(layer, ["fc1", "fc2"])
    return model


def peft_wrap(method, model, versions, targets, targets_text, ia3_config, quantize):
    """The peft methods both benchmark models share (lora, dora, qlora, ia3, prefix, prompt):
    returns (model, tool description), or None for a method that is not peft's."""
    import peft
    from peft import get_peft_model, LoraConfig, PrefixTuningConfig, PromptTuningConfig
    pv = f"peft {peft.__version__}"
    lora = dict(r=8, lora_alpha=8, lora_dropout=0.0, target_modules=targets, bias="none", task_type="CAUSAL_LM")
    if method == "lora":
        return get_peft_model(model, LoraConfig(**lora)), f"{versions} + {pv} LoraConfig(r=8, lora_alpha=8, {targets_text})"
    if method == "dora":
        return (get_peft_model(model, LoraConfig(use_dora=True, **lora)),
                f"{versions} + {pv} LoraConfig(r=8, lora_alpha=8, use_dora=True, {targets_text})")
    if method == "qlora":
        import bitsandbytes as bnb
        quantize(model)
        return (get_peft_model(model, LoraConfig(**lora)),
                f"{versions} + bitsandbytes {bnb.__version__} Linear4bit(nf4, blocksize 64, double quant, fp32 compute) "
                f"+ {pv} LoraConfig(r=8, lora_alpha=8, {targets_text})")
    if method == "ia3":
        config, text = ia3_config
        return get_peft_model(model, config), f"{versions} + {pv} {text}"
    if method == "prefix":
        config = PrefixTuningConfig(num_virtual_tokens=16, task_type="CAUSAL_LM")
        return get_peft_model(model, config), f"{versions} + {pv} PrefixTuningConfig(num_virtual_tokens=16)"
    if method == "prompt":
        config = PromptTuningConfig(num_virtual_tokens=16, prompt_tuning_init="RANDOM", task_type="CAUSAL_LM")
        return get_peft_model(model, config), f"{versions} + {pv} PromptTuningConfig(num_virtual_tokens=16, RANDOM)"
    return None


def wrap(method, V, C, L, NH, F, T):
    """The base model with `method` applied: returns (model, tool description)."""
    import torch
    from peft import IA3Config
    model = build_base(V, C, L, NH, F, T)
    versions = f"torch {torch.__version__} + transformers OPTForCausalLM"
    if method == "full":
        return model, versions + ", every parameter trains"
    if method == "bitfit":
        for name, p in model.named_parameters():
            p.requires_grad_(name.endswith(".bias"))
        return model, versions + ", BitFit: only biases train (requires_grad), no peft"
    if method == "adapter":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.model.decoder.layers:
            layer.self_attn.out_proj = make_houlsby(layer.self_attn.out_proj, C // 16)
            layer.fc2 = make_houlsby(layer.fc2, C // 16)
        return model, versions + f", hand-written Houlsby adapter after out_proj and fc2, m={C // 16} (peft has none)"
    ia3 = (IA3Config(target_modules=["k_proj", "v_proj", "fc2"], feedforward_modules=["fc2"], task_type="CAUSAL_LM"),
           "IA3Config(k_proj, v_proj, fc2; feedforward fc2)")
    wrapped = peft_wrap(method, model, versions, LINEAR_KINDS, "all six linears", ia3, quantize_linears_nf4)
    if wrapped is None:
        raise ValueError(f"unknown method {method}")
    return wrapped


LLAMA_METHODS = ["full", "lora", "qlora", "dora", "adapter", "prefix", "prompt", "ia3", "ln_tuning"]
LLAMA_KINDS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build_llama(quick):
    """SmolLM2-135M's shape (or a tiny LLaMA when quick), random weights, SDPA attention."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    if quick:
        # bitsandbytes' CPU packing needs widths divisible by its block (64).
        config = LlamaConfig(vocab_size=64, hidden_size=64, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                             intermediate_size=128, max_position_embeddings=64, tie_word_embeddings=True)
    else:
        config = LlamaConfig(vocab_size=49152, hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                             num_key_value_heads=3, intermediate_size=1536, max_position_embeddings=8192,
                             rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, use_cache=False)
    config._attn_implementation = "sdpa"
    torch.manual_seed(1)
    return LlamaForCausalLM(config)


def wrap_llama(method, quick):
    """The LLaMA model with `method` applied: returns (model, tool description)."""
    import peft
    import torch
    from peft import get_peft_model, IA3Config, LNTuningConfig
    model = build_llama(quick)
    C = model.config.hidden_size
    versions = f"torch {torch.__version__} + transformers LlamaForCausalLM (sdpa)"
    if method == "full":
        return model, versions + ", every parameter trains"
    if method == "adapter":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.model.layers:
            layer.self_attn.o_proj = make_houlsby(layer.self_attn.o_proj, C // 16)
            layer.mlp.down_proj = make_houlsby(layer.mlp.down_proj, C // 16)
        return model, versions + f", hand-written Houlsby adapter after o_proj and down_proj, m={C // 16} (peft has none)"
    if method == "ln_tuning":
        return (get_peft_model(model, LNTuningConfig(task_type="CAUSAL_LM")),
                f"{versions} + peft {peft.__version__} LNTuningConfig (the RMSNorms)")
    ia3 = (IA3Config(task_type="CAUSAL_LM"), "IA3Config(LLaMA defaults: k_proj, v_proj, down_proj)")
    wrapped = peft_wrap(method, model, versions, LLAMA_KINDS, "all seven projections", ia3, quantize_llama_nf4)
    if wrapped is None:
        raise ValueError(f"unknown method {method}")
    return wrapped


def quantize_llama_nf4(model):
    """The seven projections of every layer as Linear4bit; embeddings, norms and the (tied) head stay float32."""
    for layer in model.model.layers:
        to_linear4bit(layer.self_attn, ["q_proj", "k_proj", "v_proj", "o_proj"])
        to_linear4bit(layer.mlp, ["gate_proj", "up_proj", "down_proj"])


def measure_llama(method, threads, steps, quick):
    """Training and evaluation figures of one method on the SmolLM2 shape, in THIS process; the
    caller runs it in a child so that ru_maxrss is this method's peak alone."""
    import resource
    import torch
    import torch.nn.functional as Fn
    torch.set_num_threads(threads)
    model, tool = wrap_llama(method, quick)
    V = model.config.vocab_size if not hasattr(model, "get_base_model") else model.get_base_model().config.vocab_size
    B, T = (2, 8) if quick else (8, 128)
    model_width = 64 if quick else 576
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)

    def loss_of():
        logits = model(input_ids=tokens).logits[:, -T:, :]  # prompt tuning prepends virtual tokens
        return Fn.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))

    def step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            loss_of()

    figures = []
    for name, body in [("train", step), ("eval", evaluate)]:
        if not quick:
            body()
        seconds = []
        for _ in range(steps):
            start = time.perf_counter()
            body()
            seconds.append(time.perf_counter() - start)
        rates = [B * T / s for s in seconds]
        figures.append({
            "name": name, "size": model_width, "threads": threads, "method": method, "unit": "tokens/s",
            "value": max(rates), "best": max(rates), "median": median(rates), "reps": steps, "tool": tool,
            "detail": f"SmolLM2-135M shape B{B} T{T}; {sum(p.numel() for p in params)} trainable parameters; "
                      f"{'fwd+bwd+clip+AdamW' if name == 'train' else 'no_grad forward + loss'}; torch threads {torch.get_num_threads()}"})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    for f in figures:
        f["peak_rss_mb"] = peak_mb
    return figures


def llama_in_child(method, threads, steps, quick):
    """measure_llama in a fresh interpreter: its ru_maxrss is this method's peak alone."""
    argv = [sys.executable, os.path.abspath(__file__), "--llama-child", method, "--threads", str(threads), "--reps", str(steps)]
    if quick:
        argv.append("--quick")
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure_training(method, shape, threads, steps, quick):
    import torch
    import torch.nn.functional as Fn
    V, C, L, NH, F, B, T, _ = shape
    torch.set_num_threads(threads)
    model, tool = wrap(method, V, C, L, NH, F, T)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)  # betas (0.9, 0.999), eps 1e-8
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(input_ids=tokens).logits[:, -T:, :]  # prompt tuning prepends virtual tokens
        loss = Fn.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return loss

    if not quick:
        step()  # one untimed warm-up step, as the Swift benchmark
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    rates = [B * T / s for s in seconds]
    trainable = sum(p.numel() for p in params)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    attention = getattr(base.config, "_attn_implementation", "?")
    return {
        "name": "train", "size": C, "threads": threads, "method": method, "unit": "tokens/s",
        "value": max(rates), "best": max(rates), "median": median(rates), "reps": steps, "tool": tool,
        "detail": f"d{C} L{L} H{NH} F{F} V{V} B{B} T{T}; {trainable} trainable parameters; "
                  f"fwd+bwd+clip+AdamW, full-sequence cross-entropy; attention {attention}; "
                  f"torch threads {torch.get_num_threads()}",
    }


# ---------------------------------------------------------------------------------------------
# sgemm (the BLAS under PyTorch)
# ---------------------------------------------------------------------------------------------
def measure_torch_sgemm(sizes, threads, reps, quick):
    import torch
    torch.set_num_threads(threads)
    figures = []
    for n in sizes:
        a = torch.from_numpy(random_values(n * n, seed=1).reshape(n, n))
        b = torch.from_numpy(random_values(n * n, seed=2).reshape(n, n))
        c = torch.empty(n, n)
        count = reps or (1 if quick else 3 if n >= 2048 else 5 if n >= 1024 else 10)
        seconds = time_calls(lambda: torch.matmul(a, b, out=c), count, not quick)
        rates = [2 * n ** 3 / 1e9 / s for s in seconds]
        figures.append({
            "name": "sgemm", "size": n, "threads": threads, "unit": "GFLOP/s", "value": max(rates), "best": max(rates),
            "median": median(rates), "reps": count, "tool": f"torch {torch.__version__} matmul (MKL sgemm)",
            "detail": f"float32 {n}x{n}, 2n^3 flops per call; torch threads {torch.get_num_threads()}",
        })
    return figures


# ---------------------------------------------------------------------------------------------
# SVD
# ---------------------------------------------------------------------------------------------
SVD_SIZES, QUICK_SVD_SIZES = [256, 512, 1024, 2048], [8, 17]


def svd_reps(n, reps, quick):
    """The Swift SVDBenchmark's schedule: reps 5/3/2, warm-up below 2048 (none when quick)."""
    count = reps or (1 if quick else 2 if n >= 2048 else 3 if n >= 1024 else 5)
    return count, (not quick and n < 2048)


def time_calls(fn, reps, warm_up):
    if warm_up:
        fn()
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def time_figure(name, n, threads, seconds, tool, detail):
    return {"name": name, "size": n, "threads": threads, "unit": "s", "value": min(seconds), "best": min(seconds),
            "median": median(seconds), "reps": len(seconds), "tool": tool, "detail": detail}


def measure_torch_svd(sizes, threads, reps, quick):
    import torch
    torch.set_num_threads(threads)
    figures = []
    for n in sizes:
        a = torch.from_numpy(random_values(n * n, seed=3).reshape(n, n))
        count, warm_up = svd_reps(n, reps, quick)
        for full in [False, True]:
            if full:
                fn, call = (lambda: torch.linalg.svd(a, full_matrices=True)), "torch.linalg.svd(full_matrices=True)"
            else:
                fn, call = (lambda: torch.linalg.svdvals(a)), "torch.linalg.svdvals"
            seconds = time_calls(fn, count, warm_up)
            figures.append(time_figure(
                "sgesdd_full" if full else "sgesdd_values", n, threads, seconds,
                f"torch {torch.__version__} {call}",
                f"float32 {n}x{n} uniform [-1,1); LAPACK gesdd via MKL; torch threads {torch.get_num_threads()}"))
    return figures


def measure_scipy_svd(sizes, threads, reps, quick):
    """Runs in the child process (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)."""
    import scipy
    import scipy.linalg
    from threadpoolctl import threadpool_info, threadpool_limits
    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    kernel = ", ".join(f"{i.get('architecture')} ({os.path.basename(i.get('filepath', ''))} {i.get('version')})" for i in blas) or "unknown"
    figures = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for n in sizes:
            a = random_values(n * n, seed=3).reshape(n, n)
            count, warm_up = svd_reps(n, reps, quick)
            for full in [False, True]:
                def fn():
                    out = scipy.linalg.svd(a, full_matrices=True, compute_uv=full, lapack_driver="gesdd")
                    assert (out[1] if full else out).dtype.name == "float32"  # sgesdd, not an upcast
                seconds = time_calls(fn, count, warm_up)
                call = "scipy.linalg.svd(lapack_driver='gesdd'" + ("" if full else ", compute_uv=False") + ")"
                figures.append(time_figure(
                    "sgesdd_full" if full else "sgesdd_values", n, threads, seconds, f"scipy {scipy.__version__} {call}",
                    f"float32 {n}x{n} uniform [-1,1); OpenBLAS kernel {kernel}; OPENBLAS_CORETYPE and "
                    f"OPENBLAS_L2_SIZE unset; threadpoolctl limit {threads}"))
    return figures


def scipy_in_child(sizes, threads, reps, quick):
    """The scipy measurement, in a child process whose environment lacks the OpenBLAS pins."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    command = [sys.executable, os.path.abspath(__file__), "--scipy-child", "--threads", str(threads),
               "--sizes", ",".join(map(str, sizes))] + (["--reps", str(reps)] if reps else []) + (["--quick"] if quick else [])
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"scipy child failed ({' '.join(command)}):\n{result.stderr}")
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------
# NF4
# ---------------------------------------------------------------------------------------------
def measure_nf4(count, threads, reps, quick):
    import bitsandbytes as bnb
    import bitsandbytes.functional as bf
    import torch
    torch.set_num_threads(threads)
    a = torch.from_numpy(random_values(count, seed=4))
    count_reps, warm_up = reps or (1 if quick else 5), not quick
    gigabytes = 4 * count / 1e9
    figures = []
    for dq in [False, True]:
        state = {}

        def quantize():
            state["q"], state["s"] = bf.quantize_4bit(a, blocksize=64, quant_type="nf4", compress_statistics=dq)

        def dequantize():
            # Allocates its 64 MiB output on every call: bitsandbytes 0.50 has no CPU kernel for
            # out= ("Could not run 'bitsandbytes::dequantize_4bit.out' with arguments from the
            # 'CPU' backend"), unlike the Swift bench's dequantize(into:). Page faults on the fresh
            # output make the repetitions swing (~2.6 to ~26 GB/s here): compare medians too.
            bf.dequantize_4bit(state["q"], state["s"])

        for name, fn, impl in [
            ("nf4_quantize", quantize, "bitsandbytes' default (torch-ops) quantize_4bit kernel"),
            ("nf4_dequantize", dequantize, "libbitsandbytes_cpu dequantize kernel, fresh output per call (no CPU out=)"),
        ]:
            seconds = time_calls(fn, count_reps, warm_up)
            rates = [gigabytes / s for s in seconds]
            call = "quantize_4bit" if name == "nf4_quantize" else "dequantize_4bit"
            figures.append({
                "name": name + ("_dq" if dq else ""), "size": count, "threads": threads, "unit": "GB/s",
                "value": max(rates), "best": max(rates), "median": median(rates), "reps": count_reps,
                "tool": f"bitsandbytes {bnb.__version__} functional.{call}(nf4, blocksize 64"
                        + (", compress_statistics=True)" if dq else ")"),
                "detail": f"{count} float32 values, 4 bytes each; {impl}; torch threads {torch.get_num_threads()}",
            })
    return figures


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
def figure_key(f):
    return (f["name"], f["size"], f["threads"], f.get("method"), f["tool"])


def write_references(path, figures, merge, groups, threads):
    existing = []
    if merge and os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
        if old.get("magic") != MAGIC or old.get("version") != VERSION:
            sys.exit(f"{path}: not a version-{VERSION} references file; refusing to merge")
        if old.get("machine", {}).get("cpu") != cpu_model():
            print(f"warning: {path} was measured on {old['machine'].get('cpu')!r}, this is {cpu_model()!r}", file=sys.stderr)
        existing = old.get("figures", [])
    replaced = {figure_key(f) for f in figures}
    merged = [f for f in existing if figure_key(f) not in replaced] + figures
    merged.sort(key=lambda f: (f["name"], f["size"], f["threads"], f.get("method") or "", f["tool"]))
    document = {
        "magic": MAGIC, "version": VERSION, "generated": now(), "script": "scripts/bench_pytorch.py",
        "last_run": {"figures": groups, "threads": threads, "argv": sys.argv[1:]},
        "machine": cpu_facts(), "software": software_versions(), "torch": torch_facts(), "figures": merged,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(document, fh, indent=1, allow_nan=False)
        fh.write("\n")
    os.replace(tmp, path)


def describe(f):
    what = f.get("method") or ""
    return f"{f['name']:16} {f['size']:>9} {f['threads']:>2}T {what:8} best {f['best']:>10.4g} median {f['median']:>10.4g} {f['unit']:9} {f['tool']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--figures", default=",".join(FIGURE_GROUPS), help="comma-separated subset of " + ",".join(FIGURE_GROUPS))
    ap.add_argument("--methods", default=",".join(sorted(set(METHODS + LLAMA_METHODS))), help="comma-separated training methods")
    ap.add_argument("--out", default="bench/references.json", help="references file to write")
    ap.add_argument("--merge", action="store_true", help="keep figures already in --out, replacing re-measured ones")
    ap.add_argument("--reps", type=int, help="override every repetition count")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                    help="before each group, wait up to S seconds for the measured cores to be idle")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one rep, no warm-up: plumbing only")
    ap.add_argument("--sizes", help=argparse.SUPPRESS)
    ap.add_argument("--scipy-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--llama-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    groups = [g for g in args.figures.split(",") if g]
    methods = [m for m in args.methods.split(",") if m]
    for g in groups:
        if g not in FIGURE_GROUPS:
            ap.error(f"--figures: unknown {g!r}; choose from {FIGURE_GROUPS}")
    for m in methods:
        if m not in METHODS + LLAMA_METHODS:
            ap.error(f"--methods: unknown {m!r}; choose from {sorted(set(METHODS + LLAMA_METHODS))}")

    if args.llama_child:
        print(json.dumps(measure_llama(args.llama_child, threads[0], args.reps or (1 if args.quick else 3), args.quick)))
        return

    if args.scipy_child:
        sizes = [int(s) for s in args.sizes.split(",")]
        print(json.dumps(measure_scipy_svd(sizes, threads[0], args.reps, args.quick)))
        return

    if args.quick and os.path.abspath(args.out) == os.path.abspath("bench/references.json"):
        ap.error("--quick measures nothing useful: give --out elsewhere")
    print(f"{cpu_model()}, affinity {sorted(os.sched_getaffinity(0))}, threads {threads}, figures {groups}", file=sys.stderr)
    figures = []

    busy = {}

    def check_quiet():
        # With --wait-quiet S: poll (1 s samples) until every core of the affinity is < 10% busy,
        # for at most S seconds; the last sample is stored with the figures either way.
        deadline = time.monotonic() + args.wait_quiet
        while True:
            busy.clear()
            busy.update(busy_fraction(sorted(os.sched_getaffinity(0))))
            if all(b <= 0.1 for b in busy.values()) or time.monotonic() >= deadline:
                break
        loaded = {c: b for c, b in busy.items() if b > 0.1}
        if loaded:
            print(f"warning: cores busy before measuring: {loaded} (recorded with the figures)", file=sys.stderr)

    def report(new):
        for f in new:
            f["measured"] = now()
            f["cpu_affinity"] = sorted(os.sched_getaffinity(0))
            f["cores_busy_before"] = dict(busy)
            print(describe(f), file=sys.stderr, flush=True)
        figures.extend(new)

    for t in threads:
        if "sgemm" in groups:
            check_quiet()
            report(measure_torch_sgemm([16, 33] if args.quick else [256, 512, 1024, 2048], t, args.reps, args.quick))
        if "train" in groups:
            check_quiet()
            for shape in (QUICK_SHAPES if args.quick else SHAPES):
                for method in shape[7]:
                    if method in methods and method in METHODS:
                        report([measure_training(method, shape, t, args.reps or (1 if args.quick else 8), args.quick)])
        if "train_llama" in groups:
            for method in LLAMA_METHODS:
                if method in methods:
                    check_quiet()
                    report(llama_in_child(method, t, args.reps or (1 if args.quick else 3), args.quick))
        if "svd" in groups:
            check_quiet()
            sizes = QUICK_SVD_SIZES if args.quick else SVD_SIZES
            report(measure_torch_svd(sizes, t, args.reps, args.quick))
            report(scipy_in_child(sizes, t, args.reps, args.quick))
        if "nf4" in groups:
            check_quiet()
            report(measure_nf4(5 * 64 + 37 if args.quick else 16 << 20, t, args.reps, args.quick))
    write_references(args.out, figures, args.merge, groups, threads)
    print(f"wrote {len(figures)} figures to {args.out}" + (" (merged)" if args.merge else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
