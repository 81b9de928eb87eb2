"""``zoo train-classifier``: train the small classifier of a dataset (coverage checks, classifier FID): MNIST,
Fashion-MNIST, or your own image folder (``--data image_folder --root DIR``), whose classifier then scores quality
curves and ``zoo evaluate`` on that folder as ``classifier:OUT``."""

from zoo.arguments import AT_LEAST_1, CommandParser, InvalidArgument, number
from zoo.runs import check_output_file

HELP = "train the small per-dataset classifier used for mode coverage and classifier FID"
BATCH_SIZE = 128


def parser() -> CommandParser:
    """The arguments of ``zoo train-classifier``, with their types and ranges."""
    parser = CommandParser(prog="zoo train-classifier", description=HELP)
    parser.add_argument("--data", choices=["fashion_mnist", "mnist", "image_folder"], default="fashion_mnist")
    parser.add_argument("--data-dir", default="data", help="where the data module finds or stores the dataset "
                        "(image_folder: where its decoded cache goes)")
    parser.add_argument("--root", default=None, help="image_folder: the folder of images (sub-folders are classes)")
    parser.add_argument("--image-size", type=number(int, AT_LEAST_1), default=64,
                        help="image_folder: side of the square images (the size the models are trained at)")
    parser.add_argument("--channels", type=int, choices=[1, 3], default=3, help="image_folder: 1 grey, 3 RGB")
    parser.add_argument("--skip-corrupt", action="store_true", help="image_folder: leave out files that cannot "
                        "be decoded (named in a warning) instead of refusing them")
    parser.add_argument("--epochs", type=number(int, AT_LEAST_1), default=3)
    parser.add_argument("--out", required=True, help="output .pt file")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    if (args.data == "image_folder") != (args.root is not None):
        parser().error("--root DIR goes with --data image_folder, and only with it")
    check_output_file(args.out, "--out")  # before any training
    from zoo.metrics.classifier import save_classifier, train_classifier

    data = datamodule(args)
    model, accuracy = train_classifier(data, epochs=args.epochs)
    save_classifier(model, args.out, accuracy)
    print(f"test accuracy {accuracy:.4f}; saved to {args.out}")
    if args.data == "image_folder":
        print(f"score samples of models trained on {data.folder} with it: classifier:{args.out} (QualityMetrics' "
              "extractor, or zoo evaluate --extractor)")


def datamodule(args):
    """The data module the classifier learns from."""
    import datamodules

    if args.data != "image_folder":
        module = {"fashion_mnist": datamodules.FashionMNISTDataModule, "mnist": datamodules.MNISTDataModule}[args.data]
        return module(data_dir=args.data_dir, batch_size=BATCH_SIZE)
    data = datamodules.ImageFolderDataModule(args.root, image_size=args.image_size, channels=args.channels,
                                             data_dir=args.data_dir, batch_size=1, skip_corrupt=args.skip_corrupt)
    if data.num_classes < 2:
        raise InvalidArgument(f"{data.folder} holds one class ({data.class_names[0]!r}: no sub-folders of images), "
                              "and a classifier needs two or more. Fix: sort the images into one sub-folder per "
                              "class, or score with the inception extractor.")
    data.batch_size = min(BATCH_SIZE, len(data.listing.files) - data.val_size - data.test_size)  # small folders
    return data
