import qonnx.core.data_layout as layout
from graphs import graph
from onnx import helper

from hw.transforms import MarkInputLayouts


def test_every_input_gets_the_layout():
    model = graph([helper.make_node("Sub", ["a", "b"], ["y"])], {"a": [1, 8, 8, 3], "b": [1, 8, 8, 3]},
                  {"y": [1, 8, 8, 3]})
    model.set_tensor_layout("a", layout.NCHW)  # what qonnx's InferDataLayouts guesses for the first input
    nhwc = model.transform(MarkInputLayouts())
    assert nhwc.get_tensor_layout("a") == layout.NHWC and nhwc.get_tensor_layout("b") == layout.NHWC
    nchw = model.transform(MarkInputLayouts(layout.NCHW))
    assert nchw.get_tensor_layout("a") == layout.NCHW and nchw.get_tensor_layout("b") == layout.NCHW
