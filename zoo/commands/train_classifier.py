"""``zoo train-classifier``: train the small classifier of MNIST or Fashion-MNIST (coverage checks, classifier FID)."""

from zoo.arguments import AT_LEAST_1, CommandParser, number
from zoo.runs import check_output_file

HELP = "train the small per-dataset classifier used for mode coverage and classifier FID"


def parser() -> CommandParser:
    """The arguments of ``zoo train-classifier``, with their types and ranges."""
    parser = CommandParser(prog="zoo train-classifier", description=HELP)
    parser.add_argument("--data", choices=["fashion_mnist", "mnist"], default="fashion_mnist")
    parser.add_argument("--data-dir", default="data", help="where the data module finds or stores the dataset")
    parser.add_argument("--epochs", type=number(int, AT_LEAST_1), default=3)
    parser.add_argument("--out", required=True, help="output .pt file")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    check_output_file(args.out, "--out")  # before any training
    import datamodules
    from zoo.metrics.classifier import save_classifier, train_classifier

    module = {"fashion_mnist": datamodules.FashionMNISTDataModule, "mnist": datamodules.MNISTDataModule}[args.data]
    model, accuracy = train_classifier(module(data_dir=args.data_dir, batch_size=128), epochs=args.epochs)
    save_classifier(model, args.out, accuracy)
    print(f"test accuracy {accuracy:.4f}; saved to {args.out}")
