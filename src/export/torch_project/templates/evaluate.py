"""pretext's kNN evaluation, step for step (src/analysis/knn.rs): every test item votes among
the train items by cosine similarity, k = 20 neighbours, each vote weighted by
exp(similarity / 0.07) (the protocol of DINO, Caron et al. 2021, after Wu et al. 2018).
Embeddings are the backbone's in eval mode; rows are L2-normalised (a zero row stays zero);
similarities in float32, votes summed in float64, as pretext does.
"""
import numpy as np
import torch

K = 20
TEMPERATURE = 0.07
CHUNK = 512


@torch.no_grad()
def embed(net, items, device):
    """Backbone embeddings (eval mode) of a tensor of items, CHUNK at a time."""
    was_training = net.training
    net.eval()
    out = [net.embed(items[i:i + CHUNK].to(device)).float().cpu() for i in range(0, len(items), CHUNK)]
    net.train(was_training)
    return torch.cat(out)


def normalise(x):
    norm = x.norm(dim=1, keepdim=True)
    return torch.where(norm > 0, x / norm.clamp_min(1e-30), x)


def knn_accuracy(train, train_labels, test, test_labels, k=K, temperature=TEMPERATURE):
    bank = normalise(train.float())
    queries = normalise(test.float())
    classes = int(train_labels.max()) + 1
    k = min(k, len(bank))
    correct = 0
    for start in range(0, len(queries), 1024):
        sims = queries[start:start + 1024] @ bank.T
        top, idx = sims.topk(k, dim=1)
        weights = torch.exp((top / temperature).double())
        votes = torch.zeros(len(top), classes, dtype=torch.float64)
        votes.scatter_add_(1, train_labels[idx].long(), weights)
        predicted = votes.argmax(1)
        correct += int((predicted == test_labels[start:start + 1024].long()).sum())
    return correct / max(len(queries), 1)


def evaluate(net, splits, split_dir, device):
    """kNN accuracy on the items pretext measures a run on (all of them; a seeded sample of a
    very large or streamed dataset, whose positions the export wrote to split/)."""
    if splits.train_labels is None:
        return None
    import os

    train_rows = torch.from_numpy(np.load(os.path.join(split_dir, "eval_train.npy")))
    test_rows = torch.from_numpy(np.load(os.path.join(split_dir, "eval_test.npy")))
    train = embed(net, splits.train[train_rows], device)
    test = embed(net, splits.test[test_rows], device)
    accuracy = knn_accuracy(train, splits.train_labels[train_rows], test, splits.test_labels[test_rows])
    return {"knn_accuracy": accuracy, "train_items": len(train_rows), "test_items": len(test_rows),
            "k": K, "temperature": TEMPERATURE}
