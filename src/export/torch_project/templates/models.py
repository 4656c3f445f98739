"""The encoder and heads, with pretext's parameter names, so weights move both ways as they are:
pretext's `encoder.*` / `head.*` / `predictor.*` tensors are this module's state_dict keys.

Encoders: pretext's small ones as plain PyTorch modules (the image CNN, the table MLP), or the
field's architectures from torchvision (ResNet) and timm (ViT) in their own names.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ConvBlock(nn.Module):
    """conv 3x3 (pad 1, no bias: BatchNorm follows) -> BatchNorm -> ReLU -> 2x2 max-pool."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)


class SmallCnn(nn.Module):
    """pretext's default image encoder: three blocks of widths w, 2w, 4w, flattened."""

    def __init__(self, channels, width):
        super().__init__()
        self.block0 = ConvBlock(channels, width)
        self.block1 = ConvBlock(width, width * 2)
        self.block2 = ConvBlock(width * 2, width * 4)

    def forward(self, x):
        return self.block2(self.block1(self.block0(x))).flatten(1)


class Mlp(nn.Module):
    """Linear -> BatchNorm -> ReLU layers, then a linear output (pretext's table encoder and heads)."""

    def __init__(self, sizes):
        super().__init__()
        for i in range(len(sizes) - 2):
            setattr(self, f"fc{i}", nn.Linear(sizes[i], sizes[i + 1]))
            setattr(self, f"bn{i}", nn.BatchNorm1d(sizes[i + 1]))
        self.hidden = len(sizes) - 2
        self.out = nn.Linear(sizes[-2], sizes[-1])

    def forward(self, x):
        for i in range(self.hidden):
            x = F.relu(getattr(self, f"bn{i}")(getattr(self, f"fc{i}")(x)))
        return self.out(x)


def resnet(name, cifar_stem):
    """torchvision's ResNet without its classifier; the CIFAR stem is a 3x3 stride-1 conv and
    no max-pool (as lightly and solo-learn train on small images)."""
    import torchvision

    net = getattr(torchvision.models, name)(weights=None)
    if cifar_stem:
        net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    return net


def vit(name, image_size, patch, pool):
    """timm's ViT (no classifier): the embedding is the final-norm CLS token (global_pool
    "token") or the mean of the patch tokens through timm's fc_norm ("avg"), as pretext's."""
    import timm

    width, heads = {"vit-tiny": (192, 3), "vit-small": (384, 6)}[name]
    return timm.models.vision_transformer.VisionTransformer(
        img_size=image_size, patch_size=patch, in_chans=3, num_classes=0, embed_dim=width, depth=12, num_heads=heads,
        global_pool="token" if pool == "cls" else "avg")


def auto_patch(side):
    """pretext's patch side for a setting of 0: 16 from 224 px, 4 up to 32 px, 8 between."""
    want = 16 if side >= 224 else 4 if side <= 32 else 8
    for p in (want, 8, 4, 2, 1):
        if side % p == 0:
            return p
    return 1


class SslNet(nn.Module):
    """Backbone + head (+ BYOL's predictor), each under pretext's name."""

    def __init__(self, recipe, dataset, predictor):
        super().__init__()
        modality = dataset["modality"]
        kind = recipe["encoder"]
        self.field_backbone = kind != "default"
        if "Image" in modality:
            image = modality["Image"]
            self.input_shape = (image["channels"], image["height"], image["width"])
            if kind == "default":
                self.encoder = SmallCnn(image["channels"], recipe["width"])
            elif kind.startswith("resnet"):
                self.encoder = resnet(kind.replace("-cifar", ""), kind.endswith("-cifar"))
            elif kind.startswith("vit"):
                side = min(image["height"], image["width"])
                patch = recipe["patch_size"] or auto_patch(side)
                self.encoder = vit(kind, (image["height"], image["width"]), patch, recipe["token_pool"])
            else:
                raise ValueError(f"the {kind} encoder is not exported")
        elif "Table" in modality:
            columns = len(modality["Table"]["columns"])
            self.input_shape = (columns,)
            hidden = max(recipe["width"] * 8, 64)
            self.encoder = Mlp([columns, hidden, hidden, recipe["embed_dim"]])
        else:
            raise ValueError("pretext exports image and table runs")
        # Eval mode for this probe: a training-mode forward would move BatchNorm's statistics.
        self.encoder.eval()
        with torch.no_grad():
            self.embed_dim = self.encoder(torch.zeros(2, *((3,) + self.input_shape[1:] if self.field_backbone else self.input_shape))).shape[1]
        self.encoder.train()
        item_len = 1
        for s in self.input_shape:
            item_len *= s
        objective = recipe["objective"]
        proj = recipe["proj_dim"]
        head_hidden = max(min(512, max(self.embed_dim, proj) * 2), proj)
        head_out = item_len if objective in ("mae", "denoise") else self.embed_dim if objective == "data2vec" else proj
        self.head = Mlp([self.embed_dim, head_hidden, head_out])
        self.predictor = Mlp([head_out, head_hidden, head_out]) if predictor else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def embed(self, x):
        """The backbone embedding (what pretext's map shows). The field's image backbones read
        RGB normalised with ImageNet's statistics, grey images repeated to three channels."""
        if self.field_backbone:
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            x = (x - self.mean) / self.std
        return self.encoder(x)

    def project(self, x):
        return self.head(self.embed(x))

    def stage_prefixes(self):
        """Parameter-name prefixes of the encoder's stages, input first (for --freeze)."""
        kind = type(self.encoder).__name__
        if kind == "ResNet":
            return [["conv1.", "bn1."], ["layer1."], ["layer2."], ["layer3."], ["layer4."]]
        if "ViT" in kind:
            return [["patch_embed.", "cls_token", "pos_embed"]] + [[f"blocks.{i}."] for i in range(len(self.encoder.blocks))]
        return [[""]]
