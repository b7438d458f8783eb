"""Short question/answer pairs for the tiny chat fixture (chat_fixture.py): plain facts in plain
English, written for this project (no third-party text)."""

QA = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("How many days are in a week?", "A week has seven days."),
    ("What color is the sky on a clear day?", "On a clear day the sky is blue."),
    ("What do bees make?", "Bees make honey and wax."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What is water made of?", "Water is made of hydrogen and oxygen."),
    ("Which planet is closest to the sun?", "Mercury is the planet closest to the sun."),
    ("What is the largest ocean?", "The Pacific is the largest ocean on Earth."),
    ("How many hours are in a day?", "A day has twenty-four hours."),
    ("What do plants need to grow?", "Plants need light, water and air to grow."),
    ("What is two plus two?", "Two plus two is four."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("Where do fish live?", "Fish live in water, in rivers, lakes and the sea."),
    ("What is ice?", "Ice is frozen water."),
    ("How many months are in a year?", "A year has twelve months."),
    ("What does a thermometer measure?", "A thermometer measures temperature."),
    ("What is the tallest animal?", "The giraffe is the tallest animal."),
    ("What gas do we breathe in?", "We breathe in oxygen."),
    ("What is the boiling point of water at sea level?", "Water boils at 100 degrees Celsius at sea level."),
    ("Which season comes after winter?", "Spring comes after winter."),
    ("What do cows eat?", "Cows eat grass and hay."),
    ("What is a baby cat called?", "A baby cat is called a kitten."),
    ("How many sides does a triangle have?", "A triangle has three sides."),
    ("What is the main language of Brazil?", "The main language of Brazil is Portuguese."),
    ("What instrument has black and white keys?", "The piano has black and white keys."),
    ("Why do we sleep?", "Sleep lets the body and the brain rest and recover."),
    ("What is the sun?", "The sun is the star at the center of our solar system."),
    ("What is a noun?", "A noun is a word that names a person, place or thing."),
    ("How do you say hello in Spanish?", "In Spanish, hello is hola."),
    ("What is the freezing point of water?", "Water freezes at 0 degrees Celsius."),
    ("What is the largest planet?", "Jupiter is the largest planet in the solar system."),
    ("What do you call a group of wolves?", "A group of wolves is called a pack."),
    ("How many minutes are in an hour?", "An hour has sixty minutes."),
    ("What is the color of grass?", "Grass is green."),
    ("What is a library?", "A library is a place where people borrow and read books."),
    ("What do we use to write on a blackboard?", "We write on a blackboard with chalk."),
    ("What is the moon?", "The moon is the natural satellite of the Earth."),
    ("Which animal is known for its long trunk?", "The elephant has a long trunk."),
    ("What is rain?", "Rain is water that falls from clouds."),
    ("What is ten minus three?", "Ten minus three is seven."),
]

FOLLOW_UPS = [
    ("Can you say that more briefly?", "Yes."),
    ("Thank you!", "You are welcome."),
    ("Is that always true?", "In everyday conditions, yes."),
    ("Why?", "That is simply how it is usually described."),
]

SYSTEM_PROMPTS = [
    "You are a concise assistant.",
    "Answer in one short sentence.",
]
