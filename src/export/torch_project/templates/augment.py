"""pretext's views in torchvision v2 (and a few plain PyTorch lines where torchvision draws
differently). How each pretext setting maps:

  augment.crop_min_scale  -> PretextResizedCrop: the crop's SIDE is drawn uniformly in
                             [crop_min_scale, 1] and its aspect ratio log-uniformly in
                             [3/4, 4/3], sampled bilinearly at sub-pixel offsets, as pretext does.
                             (torchvision's RandomResizedCrop draws the AREA and whole pixels;
                             v2.RandomResizedCrop(scale=(crop_min_scale**2, 1)) is the nearest
                             stock transform.)
  augment.flip            -> v2.RandomHorizontalFlip(p=0.5)
  augment.brightness      -> PixelJitter: ADD a uniform offset in +-brightness (ColorJitter
                             multiplies instead); greyscale images, or RGB with colour off
  augment.contrast        -> PixelJitter: scale around the image mean by 1 +- contrast
                             (as v2.ColorJitter(contrast=...) does)
  augment.noise_std       -> Gaussian pixel noise, then clamp to [0, 1] (v2.GaussianNoise(clip=True))
  augment.colour.*        -> RGB images: v2.RandomApply([v2.ColorJitter(b, c, s, h)], p=jitter_prob),
                             v2.RandomGrayscale(greyscale_prob), v2.RandomApply([v2.GaussianBlur(
                             kernel ~ side/10, sigma=blur_sigma)], p=blur_prob)
  augment.table_corruption-> table_view: each feature replaced with this probability by the same
                             feature of a random train row (SCARF, Bahri et al. 2022)
  augment.mask_ratio      -> masked_view: 4x4 pixel patches (tables: single features) hidden
"""
import math

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

MASK_PATCH = 4


class PretextResizedCrop(torch.nn.Module):
    """Random resized crop with pretext's sampling (side scale, not area; sub-pixel box)."""

    def __init__(self, min_scale, flip):
        super().__init__()
        self.min_scale = min(min_scale, 1.0)
        self.flip = flip

    def forward(self, img):
        c, h, w = img.shape
        scale = self.min_scale + (1.0 - self.min_scale) * torch.rand(()).item()
        log_ratio = math.log(0.75) + (math.log(4.0 / 3.0) - math.log(0.75)) * torch.rand(()).item()
        ratio = math.sqrt(math.exp(log_ratio))
        crop_w = min(scale * ratio, 1.0) * w
        crop_h = min(scale / ratio, 1.0) * h
        x0 = max(w - crop_w, 0.0) * torch.rand(()).item()
        y0 = max(h - crop_h, 0.0) * torch.rand(()).item()
        # Pixel centres of the output in source coordinates, clamped to the border.
        xs = (x0 + (torch.arange(w, dtype=torch.float32) + 0.5) * (crop_w / w) - 0.5).clamp(0, w - 1)
        ys = (y0 + (torch.arange(h, dtype=torch.float32) + 0.5) * (crop_h / h) - 0.5).clamp(0, h - 1)
        if self.flip and torch.rand(()).item() < 0.5:
            xs = xs.flip(0)
        # grid_sample's normalised coordinates (align_corners=False).
        gx = (2 * xs + 1) / w - 1
        gy = (2 * ys + 1) / h - 1
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]
        return F.grid_sample(img[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


class PixelJitter(torch.nn.Module):
    """pretext's greyscale jitter: (x - mean) * contrast + mean + brightness + noise, clamped."""

    def __init__(self, brightness, contrast, noise_std):
        super().__init__()
        self.brightness, self.contrast, self.noise_std = brightness, contrast, noise_std

    def forward(self, img):
        b = (torch.rand(()).item() * 2 - 1) * self.brightness if self.brightness > 0 else 0.0
        c = 1 + (torch.rand(()).item() * 2 - 1) * self.contrast if self.contrast > 0 else 1.0
        mean = img.mean()
        out = (img - mean) * c + mean + b
        if self.noise_std > 0:
            out = out + self.noise_std * torch.randn_like(out)
        return out.clamp(0, 1)


def image_transform(recipe, shape):
    """The view pipeline of a C x H x W image in [0, 1]."""
    c, h, w = shape
    crop = PretextResizedCrop(recipe["augment.crop_min_scale"], recipe["augment.flip"])
    noise = recipe["augment.noise_std"]
    if c == 3 and recipe["augment.colour.enabled"]:
        kernel = max((max(h, w) // 10) | 1, 3)
        steps = [
            crop,
            v2.RandomApply([v2.ColorJitter(recipe["augment.colour.brightness"], recipe["augment.colour.contrast"],
                                           recipe["augment.colour.saturation"], recipe["augment.colour.hue"])],
                           p=recipe["augment.colour.jitter_prob"]),
            v2.RandomGrayscale(p=recipe["augment.colour.greyscale_prob"]),
            v2.RandomApply([v2.GaussianBlur(kernel, sigma=tuple(recipe["augment.colour.blur_sigma"]))],
                           p=recipe["augment.colour.blur_prob"]),
        ]
        if noise > 0:
            steps.append(v2.GaussianNoise(mean=0.0, sigma=noise, clip=True))
        return v2.Compose(steps)
    return v2.Compose([crop, PixelJitter(recipe["augment.brightness"], recipe["augment.contrast"], noise)])


def table_view(x, pool, corruption):
    """SCARF: each feature, with probability `corruption`, from a random row of the pool."""
    d = x.shape[0]
    swap = torch.rand(d) < corruption
    rows = torch.randint(len(pool), (d,))
    return torch.where(swap, pool[rows, torch.arange(d)], x)


def masked_view(x, ratio, is_table):
    """x with a `ratio` of it hidden (zeroed) and the mask (1 where hidden)."""
    if is_table:
        mask = (torch.rand(x.shape) < ratio).float()
    else:
        c, h, w = x.shape
        gh, gw = -(-h // MASK_PATCH), -(-w // MASK_PATCH)
        hidden = (torch.rand(gh, gw) < ratio).float()
        mask = hidden.repeat_interleave(MASK_PATCH, 0).repeat_interleave(MASK_PATCH, 1)[:h, :w]
        mask = mask.expand(c, h, w).contiguous()
    return x * (1 - mask), mask
