"""pretext's objectives: lightly's losses where lightly has them (NT-Xent, VICReg, Barlow Twins,
BYOL's negative cosine similarity, the momentum update and its cosine schedule), a few plain
PyTorch lines where it does not (MoCo's symmetric queue, data2vec, the autoencoders).

Every objective gets the batch with all views stacked view after view, so BatchNorm sees the
whole batch in one forward pass, as in pretext.
"""
import copy
import itertools

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from lightly.loss import BarlowTwinsLoss, NegativeCosineSimilarity, NTXentLoss, VICRegLoss
from lightly.models.utils import update_momentum
from lightly.utils.scheduler import cosine_schedule


def distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def stacked(views):
    """(batch, views, ...) -> (views * batch, ...), view after view."""
    b, v = views.shape[:2]
    return views.transpose(0, 1).reshape(v * b, *views.shape[2:]), b, v


def mean_over_pairs(v, pair_loss):
    """Mean of a two-view loss over every unordered pair of the v views (multi-view training)."""
    pairs = list(itertools.combinations(range(v), 2))
    return sum(pair_loss(i, j) for i, j in pairs) / len(pairs)


class Teacher(nn.Module):
    """A momentum copy of the student's backbone and head (no predictor): after every step
    theta_t <- m theta_t + (1 - m) theta_s, BatchNorm statistics included, with m rising from
    its base value to 1 on a cosine schedule (BYOL, Grill et al. 2020)."""

    def __init__(self, net, base_momentum, total_steps):
        super().__init__()
        self.net = copy.deepcopy(net)
        self.net.predictor = None
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.base_momentum = base_momentum
        self.total_steps = total_steps

    def momentum(self, done):
        # lightly's schedule reaches 1 at max_steps - 1; pretext's at the phase's end.
        return cosine_schedule(done, self.total_steps + 1, self.base_momentum, 1.0)

    @torch.no_grad()
    def update(self, student, done):
        m = self.momentum(done)
        update_momentum(student.encoder, self.net.encoder, m)
        update_momentum(student.head, self.net.head, m)
        # lightly moves parameters only; pretext's teacher also follows BatchNorm's statistics.
        for part in ("encoder", "head"):
            ours = dict(getattr(self.net, part).named_buffers())
            for name, b in getattr(student, part).named_buffers():
                if b.is_floating_point() and name in ours:
                    ours[name].mul_(m).add_(b, alpha=1 - m)

    @torch.no_grad()
    def forward(self, x):
        h = self.net.embed(x)
        return h, self.net.head(h)


class SimClr(nn.Module):
    def __init__(self, recipe):
        super().__init__()
        self.loss_fn = NTXentLoss(temperature=recipe["temperature"], gather_distributed=distributed())

    def loss(self, net, batch):
        x, b, v = stacked(batch["views"])
        z = net.project(x).split(b)
        return mean_over_pairs(v, lambda i, j: self.loss_fn(z[i], z[j]))


class VicReg(nn.Module):
    def __init__(self, recipe):
        super().__init__()
        # lightly halves the variance term's sum over the two views; pretext sums it.
        self.loss_fn = VICRegLoss(lambda_param=recipe["objective_params.vicreg_invariance"],
                                  mu_param=2 * recipe["objective_params.vicreg_variance"],
                                  nu_param=recipe["objective_params.vicreg_covariance"], gather_distributed=distributed())

    def loss(self, net, batch):
        x, b, v = stacked(batch["views"])
        z = net.project(x).split(b)
        return mean_over_pairs(v, lambda i, j: self.loss_fn(z[i], z[j]))


class Barlow(nn.Module):
    def __init__(self, recipe):
        super().__init__()
        self.loss_fn = BarlowTwinsLoss(lambda_param=recipe["objective_params.barlow_lambda"], gather_distributed=distributed())

    def loss(self, net, batch):
        x, b, v = stacked(batch["views"])
        z = net.project(x).split(b)
        return mean_over_pairs(v, lambda i, j: self.loss_fn(z[i], z[j]))


class Byol(nn.Module):
    def __init__(self, recipe, net, total_steps):
        super().__init__()
        self.teacher = Teacher(net, recipe["objective_params.momentum"], total_steps)
        self.cosine = NegativeCosineSimilarity()

    def byol(self, p, z):
        return 2 + 2 * self.cosine(p, z)  # 2 - 2 cos(p, z), averaged over rows

    def loss(self, net, batch):
        x, b, v = stacked(batch["views"])
        p = net.predictor(net.project(x)).split(b)
        t = self.teacher(x)[1].split(b)
        return mean_over_pairs(v, lambda i, j: 0.5 * (self.byol(p[i], t[j]) + self.byol(p[j], t[i])))

    def after_step(self, net, done):
        self.teacher.update(net, done)


class MoCo(nn.Module):
    """MoCo v2 (He et al. 2020) with a symmetric loss: queries from the student, keys from
    the momentum teacher, the keys of recent batches in a queue as negatives."""

    def __init__(self, recipe, net, total_steps, seed):
        super().__init__()
        self.teacher = Teacher(net, recipe["objective_params.momentum"], total_steps)
        self.temperature = recipe["objective_params.moco_temperature"]
        g = torch.Generator().manual_seed(seed)
        queue = torch.randn(recipe["objective_params.queue_size"], recipe["proj_dim"], generator=g)
        self.register_buffer("queue", F.normalize(queue, dim=1))
        self.head_row = 0
        self.pending = None

    def info_nce(self, q, k):
        q = F.normalize(q, dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ self.queue.T], dim=1) / self.temperature
        return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))

    def loss(self, net, batch):
        x, b, v = stacked(batch["views"])
        q = net.project(x).split(b)
        k = F.normalize(self.teacher(x)[1], dim=1).split(b)
        self.pending = k[0].detach()
        return mean_over_pairs(v, lambda i, j: 0.5 * (self.info_nce(q[i], k[j]) + self.info_nce(q[j], k[i])))

    @torch.no_grad()
    def after_step(self, net, done):
        self.teacher.update(net, done)
        keys = self.pending
        if distributed():
            parts = [torch.empty_like(keys) for _ in range(dist.get_world_size())]
            dist.all_gather(parts, keys)
            keys = torch.cat(parts)
        n = min(len(keys), len(self.queue))
        rows = (self.head_row + torch.arange(n)) % len(self.queue)
        self.queue[rows] = keys[:n]
        self.head_row = (self.head_row + n) % len(self.queue)


class Data2vec(nn.Module):
    """From a masked view, predict the teacher's embedding of the whole view, standardised per
    item (after data2vec, Baevski et al. 2022)."""

    def __init__(self, recipe, net, total_steps):
        super().__init__()
        self.teacher = Teacher(net, recipe["objective_params.momentum"], total_steps)

    def loss(self, net, batch):
        prediction = net.project(batch["input"])
        target = self.teacher(batch["target"])[0]
        target = (target - target.mean(1, keepdim=True)) / (target.var(1, unbiased=False, keepdim=True) + 1e-6).sqrt()
        return F.mse_loss(prediction, target)

    def after_step(self, net, done):
        self.teacher.update(net, done)


class MaskedAutoencoder(nn.Module):
    """Reconstruct the input; the error counts on the hidden entries (all when none are)."""

    def loss(self, net, batch):
        recon = net.project(batch["input"])
        target, mask = batch["target"].flatten(1), batch["mask"].flatten(1)
        sq = (recon - target) ** 2
        hidden = mask.sum()
        return sq.mean() if hidden < 1 else (sq * mask).sum() / hidden


class Denoise(nn.Module):
    def loss(self, net, batch):
        return F.mse_loss(net.project(batch["input"]), batch["target"].flatten(1))


def build_objective(recipe, net, total_steps):
    kind = recipe["objective"]
    if kind == "simclr":
        return SimClr(recipe)
    if kind == "vicreg":
        return VicReg(recipe)
    if kind == "barlow":
        return Barlow(recipe)
    if kind == "byol":
        return Byol(recipe, net, total_steps)
    if kind == "moco":
        return MoCo(recipe, net, total_steps, recipe["seed"])
    if kind == "data2vec":
        return Data2vec(recipe, net, total_steps)
    if kind == "mae":
        return MaskedAutoencoder()
    if kind == "denoise":
        return Denoise()
    raise ValueError(f"unknown objective {kind}")
