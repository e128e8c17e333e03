"""A one-stage model's boxes on the images of a COCO file, written as COCO detection results.

``python tools/detect_boxes.py CONFIG CHECKPOINT ANN_FILE --img-prefix DIR --out FILE
[--score-thr 0.3] [--max-boxes N]`` runs the one-stage (bottom-up) model of CONFIG over every
image of ANN_FILE (:func:`mmpose_rle.apis.boxes.one_stage_box_source`) and writes its boxes
(``image_id``, ``bbox`` as ``x, y, w, h``, ``score``). A top-down model is then tested in
them with ``mmpose_rle.DetectedBox`` in its test pipeline, or MMPose's ``bbox_file``.
"""

import argparse
from typing import List, Optional

import mmengine

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.apis.boxes import coco_detections, one_stage_box_source


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The command line (``sys.argv`` when ``argv`` is ``None``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a one-stage (bottom-up) config')
    parser.add_argument('checkpoint')
    parser.add_argument('ann_file', help='COCO file whose images to run over')
    parser.add_argument('--img-prefix', default='', help='directory of its file names')
    parser.add_argument('--out', required=True, help='JSON file to write')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--max-boxes', type=int, help='keep at most this many per image')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    source = one_stage_box_source(
        args.config, args.checkpoint, args.score_thr, args.max_boxes, args.device
    )
    detections = coco_detections(source, args.ann_file, args.img_prefix)
    mmengine.dump(detections, args.out, indent=1)
    print(f'{len(detections)} boxes written to {args.out}')


if __name__ == '__main__':
    main()
