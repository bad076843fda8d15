"""The strategies the package ships, registered in the order `available()` lists them."""

from keras_transfer.strategies import adaptation
from keras_transfer.strategies import semi_supervised
from keras_transfer.strategies import supervised
from keras_transfer.strategies.registry import register_strategy
from keras_transfer.strategies.strategy import Strategy

DOMAIN = dict(requires=("source", "target"), page="domain_adaptation.md", epochs=10)

BUILTIN = (
    Strategy(
        "feature_extraction", supervised.feature_extraction, epochs=10, learning_rate=1e-2,  # a linear head
        paper='Razavian et al., "CNN Features off-the-shelf", CVPRW 2014',
        when="Few labels, or a target close to the pretraining data: train only a new head on frozen features (fast).",
        options={"cache_features": "auto"}, page="feature_extraction.md",
    ),
    Strategy(
        "fine_tune", supervised.fine_tune,
        paper='Howard & Ruder, "Universal Language Model Fine-tuning" (ULMFiT), ACL 2018',
        when="Hundreds of labels or more: head first, then every layer with smaller rates for deeper groups.",
        options={"freeze_epochs": 1, "lr_mult": 100.0, "train_batchnorm": False}, page="fine_tuning.md",
    ),
    Strategy(
        "gradual", supervised.gradual,
        paper='Howard & Ruder, "Universal Language Model Fine-tuning" (ULMFiT), ACL 2018',
        when="Fine-tuning that forgets the pretraining too fast: unfreeze one layer group per epoch from the top.",
        options={"freeze_epochs": 1, "lr_mult": 100.0, "train_batchnorm": False}, page="fine_tuning.md",
    ),
    Strategy(
        "l2sp", supervised.l2sp,
        paper='Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with CNNs", ICML 2018',
        when="Fine-tuning every layer on a small target set: keep the weights near their pretrained values.",
        options={"alpha": 0.1, "beta": 0.01}, page="l2sp.md",
    ),
    Strategy(
        "prototype", supervised.prototype, trains=False, epochs=0,
        paper='Snell, Swersky & Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017',
        when="A handful of examples per new class (few-shot): class means of frozen embeddings, no training.",
        options={"metric": "cosine", "scale": 10.0}, page="few_shot.md",
    ),
    Strategy(
        "text", supervised.text, inputs="texts", learning_rate=5e-4,
        paper='Devlin et al., "BERT", NAACL 2019; Reimers & Gurevych, "Sentence-BERT", EMNLP 2019',
        when="Short texts with few labels: a pretrained keras-hub encoder (backbone = preset) and a new head, raw strings in.",
        options={"freeze": False, "pooling": "mean", "sequence_length": None, "lora_rank": None}, page="text_transfer.md",
    ),
    Strategy(
        "dann", adaptation.dann,
        paper='Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016',
        when="Labels only in a source domain, unlabelled target images: make features domain-invariant adversarially.",
        options={"alignment_weight": 1.0, "hidden_units": (256, 256), "freeze": False}, **DOMAIN,
    ),
    Strategy(
        "cdan", adaptation.cdan,
        paper='Long et al., "Conditional Adversarial Domain Adaptation", NeurIPS 2018',
        when="As DANN, when classes are multimodal: align features jointly with class predictions.",
        options={"alignment_weight": 1.0, "hidden_units": (256, 256), "freeze": False}, **DOMAIN,
    ),
    Strategy(
        "mmd", adaptation.mmd,
        paper='Long et al., "Learning Transferable Features with Deep Adaptation Networks", ICML 2015',
        when="Domain shift without an adversary: minimise a kernel distance between source and target features.",
        options={"alignment_weight": 1.0, "freeze": False}, **DOMAIN,
    ),
    Strategy(
        "coral", adaptation.coral,
        paper='Sun & Saenko, "Deep CORAL", ECCV Workshops 2016',
        when="Domain shift in feature statistics (e.g. colour, style): match the feature covariances; cheap and stable.",
        options={"alignment_weight": 1.0, "freeze": False}, **DOMAIN,
    ),
    Strategy(
        "fixmatch", semi_supervised.fixmatch, requires=("data", "target"),
        paper='Sohn et al., "FixMatch", NeurIPS 2020',
        when="Few labels and many unlabelled images of the same task: pseudo-labels from confident predictions.",
        options={"threshold": 0.95, "unlabeled_ratio": 7, "unlabeled_weight": 1.0, "freeze": False},
        page="generative_transfer.md",
    ),
    Strategy(
        "distill", semi_supervised.distill, accepts=("data", "source"),
        paper='Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015',
        when="A teacher model (or source data to train one) and a different student architecture to train.",
        options={"teacher": None, "label_space": None, "temperature": 4.0, "alpha": 0.5, "teacher_epochs": None},
        page="generative_transfer.md",
    ),
    Strategy(
        "pp_pssl", semi_supervised.pp_pssl, accepts=("data", "source"),
        paper='Yamaguchi et al., "Transfer Learning with Pre-trained Conditional Generative Models", MLJ 2025',
        when="No pretrained weights for the target architecture and disjoint label spaces: learn from a source generator.",
        options={
            "source_classifier": None, "generator": None, "generator_options": None, "source_epochs": None,
            "generator_epochs": None, "pretrain_steps": 100, "pretrain_epochs": 1, "threshold": 0.95, "unlabeled_ratio": 7,
        },
        page="generative_transfer.md",
    ),
)

for _strategy in BUILTIN:
    register_strategy(_strategy)
