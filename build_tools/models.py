"""Backbone architectures (torch): a torchvision-compatible ResNet50 and the packaged EfficientNet-Lite0.

The catalog (:mod:`build_tools.catalog`) names the factory of each model; this module holds the torch code.

torchvision cannot be installed on every machine this runs on, so ResNet50 is defined here with the
exact module names of ``torchvision.models.resnet50``: its ``state_dict`` (and torchvision's published
checkpoints) load key for key. ``tests/test_models.py`` proves that against torchvision where present.
"""

from __future__ import annotations

import torch
from torch import nn

from triton_console.build_tools.tensors import NUM_CLASSES


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv), named as torchvision names it."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet50(nn.Module):
    """``torchvision.models.resnet50`` without torchvision: same layers, names and initialisation."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.layer3 = self._make_layer(256, 6, stride=2)
        self.layer4 = self._make_layer(512, 3, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * Bottleneck.expansion, stride),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def efficientnet_lite0(weights_path: str | None) -> nn.Module:
    """EfficientNet-Lite0 from ``efficientnet-lite-pytorch``.

    Lite models use ReLU6; the package's ``set_swish`` would swap that for Swish and silently ruin the
    predictions, so it is never called here.
    """
    from efficientnet_lite_pytorch import EfficientNet

    if weights_path is None:
        return EfficientNet.from_name("efficientnet-lite0")
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights_path)


def resnet50(weights_path: str | None) -> nn.Module:
    """Untrained ResNet50; weights (a state_dict file) are applied by :mod:`build_tools.weights`."""
    return ResNet50()


def create(key: str, weights_path: str | None = None) -> nn.Module:
    """An instance of the catalog's model ``key`` through its factory (untrained unless a path is given)."""
    from importlib import import_module

    from triton_console.build_tools.catalog import model

    module, _, name = model(key).factory.partition(":")
    return getattr(import_module(module), name)(weights_path)
