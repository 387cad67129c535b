#include "tokenizer/tokenizer_corpus.h"

namespace brigade {

// One sentence per line; the mix of short words, numbers and punctuation
// gives a few hundred useful pieces.
const char* const kTokenizerCorpus = R"(The quick brown fox jumps over the lazy dog.
Once upon a time, there was a small village at the edge of a great forest.
The people of the village grew wheat, kept bees, and told stories by the fire.
Every morning the baker opened his shop before the sun was up.
She walked to the river, sat on a flat stone, and watched the water run by.
A little boy asked his grandmother why the sky turns red in the evening.
"Because the light travels farther through the air," she said, and smiled.
The train to the city leaves at seven o'clock and arrives two hours later.
We counted the stars: one, two, three, four, five, six, seven, eight, nine, ten.
In 1850 the town had 312 houses, 4 churches and a single school.
The weather today is cold and windy, with rain expected in the afternoon.
He opened the old book and found a letter hidden between the pages.
Good morning! How are you today? I am fine, thank you, and you?
The cat slept in the warm sun while the dog kept watch at the door.
Water boils at one hundred degrees and freezes at zero.
They built a bridge of stone across the valley, and it stands there still.
Music filled the hall as the orchestra began to play.
The teacher wrote a long question on the board and waited for an answer.
Learning a new language takes time, patience and a great deal of practice.
The ship sailed north for many days until the sailors saw ice on the sea.
My friend likes apples, oranges, bread with honey, and strong black tea.
At night the city lights shine like a field of small golden stars.
The engineer checked every wire twice before she turned the power on.
A good story has a beginning, a middle and an end.
The farmer counted his sheep and found that one of them was missing.
Rain fell softly on the roof, and the children listened from their beds.
The library is open from nine in the morning until six in the evening.
He ran as fast as he could, but the bus had already left the station.
The mountains were covered in snow, white and silent under the moon.
Please write your name and address clearly at the top of the page.
The market was full of people buying fish, fruit, cloth and spices.
Some birds fly south in the winter and return when the days grow long again.
The machine reads the numbers, adds them together, and prints the result.
She said that the meeting would start at noon and end before three.
Our garden has roses, tall grass, a small pond and an old apple tree.
The doctor told him to rest, drink water and sleep well for a week.
Light moves faster than sound, which is why we see lightning before thunder.
The king sent a message to every corner of his kingdom.
A model is only as good as the data it has seen and the questions we ask it.
The road turned left, climbed a hill and disappeared into the clouds.
When the bell rang, the students closed their books and went outside.
The river is wide and deep here, and only a boat can cross it.
Ask a simple question and you may get a simple answer.
The workers finished the new house just before the first snow of winter.
Bread, milk, eggs, butter, cheese and salt were on the kitchen table.
The sun rises in the east and sets in the west.
I think, therefore I am; I write, therefore I remember.
The clock on the wall struck twelve, and the room became very quiet.
He planted seeds in spring, watered them in summer and picked beans in autumn.
The museum keeps old maps, coins, tools, paintings and letters.
Each morning she ran five miles along the beach and back.
The small boat rocked gently as the waves came in from the sea.
The numbers 10, 20, 30, 40 and 50 are all multiples of ten.
They laughed, they sang, and they danced until the fire burned low.
What is the capital of France? The capital of France is Paris.
The answer to the question was hidden in the first chapter of the book.
Every river flows to the sea, and every road leads somewhere.
The old man fixed clocks, radios and bicycles in his small shop.
Winter nights are long and summer days are longer.
A journey of a thousand miles begins with a single step.
)";

}  // namespace brigade
